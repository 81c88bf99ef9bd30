using System.Collections.Concurrent;
using System.Text.Json;
using Exchange.Feed.Exchanges;
using static Exchange.Feed.Tests.AdapterHarness;

namespace Exchange.Feed.Tests;

/// <summary>The Backpack adapter against a local server that expects Backpack's SUBSCRIBE and plays its documented frames.</summary>
public sealed class BackpackBookTickerSourceTests
{
    private const string Btc = """{"stream":"bookTicker.BTC_USDC","data":{"e":"bookTicker","E":1735689600123456,"s":"BTC_USDC","a":"95000.02","A":"0.50000","b":"95000.01","B":"0.25000","u":"111063070","T":1735689600123000}}""";
    private const string Eth = """{"stream":"bookTicker.ETH_USDC","data":{"e":"bookTicker","E":1735689601000999,"s":"ETH_USDC","a":"3500.13","A":"4.000","b":"3500.12","B":"2.000","u":"111063071","T":1735689601000500}}""";
    private const string Sol = """{"stream":"bookTicker.SOL_USDC","data":{"e":"bookTicker","E":1694687692980000,"s":"SOL_USDC","a":"18.70","A":"1.000","b":"18.67","B":"2.000","u":"111063072","T":1694687692980000}}""";

    private static string SolBook(string bid, string ask) =>
        $$$"""{"stream":"bookTicker.SOL_USDC","data":{"e":"bookTicker","E":1,"s":"SOL_USDC","a":"{{{ask}}}","A":"1","b":"{{{bid}}}","B":"1","u":"1","T":1}}""";

    private static void AssertSubscribesToAllThree(string message)
    {
        using var json = JsonDocument.Parse(message);
        Assert.Equal("SUBSCRIBE", json.RootElement.GetProperty("method").GetString());
        Assert.Equal(["bookTicker.BTC_USDC", "bookTicker.ETH_USDC", "bookTicker.SOL_USDC"],
            json.RootElement.GetProperty("params").EnumerateArray().Select(p => p.GetString()));
    }

    [Fact]
    public async Task It_subscribes_and_recorded_frames_arrive_as_exact_quotes_with_the_exchanges_time()
    {
        var subscriptions = new ConcurrentQueue<string>();
        await using var server = await FrameServer.StartAsync(async c =>
        {
            subscriptions.Enqueue(await c.ReceiveTextAsync());
            await c.SendAllAsync([Btc, Eth, Sol]);
            await c.StaySilentAsync();
        });
        var source = new BackpackBookTickerSource(Options(server.Url));

        var quotes = await TakeAsync(source, 3);

        AssertSubscribesToAllThree(Assert.Single(subscriptions));
        Assert.Equal(
            [("BTC_USDC", P(95000.01m), P(95000.02m), 1735689600123L), ("ETH_USDC", P(3500.12m), P(3500.13m), 1735689601000L),
             ("SOL_USDC", P(18.67m), P(18.70m), 1694687692980L)],
            quotes.Select(q => (q.Symbol, q.Bid, q.Ask, q.TimestampMs)));
        Assert.Equal(9_500_001_000_000L, quotes[0].Bid.Raw);
        Assert.Equal(new BookTickerStats(Frames: 3, Quotes: 3, Malformed: 0, Rejected: 0, Reconnects: 0, Connections: 1, StaleTimeouts: 0),
            source.Stats);
    }

    [Fact]
    public async Task Garbage_truncated_incomplete_crossed_and_zero_frames_are_skipped_and_counted()
    {
        string[] malformed =
        [
            "\u0000\u0001 binary-ish garbage",
            Btc[..60], // truncated
            """{"stream":"bookTicker.DOGE_USDC","data":{"e":"bookTicker","s":"DOGE_USDC","a":"0.2","b":"0.1"}}""",
            """{"stream":"bookTicker.SOL_USDC","data":{"e":"bookTicker","s":"SOL_USDC","a":"18.70"}}""", // no bid
            """{"stream":"bookTicker.SOL_USDC"}""", // no data
            """{"data":{"e":"bookTicker","s":"SOL_USDC","a":"18.70","b":"18.67"}}""", // no stream
            SolBook("18.671234567", "18.70"),
            SolBook("18.67", ""),
            SolBook(" 18.67", "18.70"),
        ];
        string[] rejected = [SolBook("18.71", "18.70"), SolBook("18.70", "18.70"), SolBook("0", "18.70")];
        // A reply to a request, not market data: neither a quote nor malformed.
        const string control = """{"id":null,"error":{"code":4006,"message":"Invalid stream"}}""";
        await using var server = await FrameServer.StartAsync(async c =>
        {
            await c.ReceiveTextAsync();
            await c.SendAllAsync([.. malformed, control, .. rejected, Btc]);
            await c.StaySilentAsync();
        });
        var source = new BackpackBookTickerSource(Options(server.Url));

        var quote = Assert.Single(await TakeAsync(source, 1));

        Assert.Equal(("BTC_USDC", P(95000.01m), P(95000.02m)), (quote.Symbol, quote.Bid, quote.Ask));
        Assert.Equal(new BookTickerStats(Frames: malformed.Length + rejected.Length + 2, Quotes: 1, Malformed: malformed.Length,
            Rejected: rejected.Length, Reconnects: 0, Connections: 1, StaleTimeouts: 0), source.Stats);
    }

    [Fact]
    public async Task After_a_dropped_connection_it_reconnects_and_subscribes_again()
    {
        var subscriptions = new ConcurrentQueue<string>();
        var delivered = new TaskCompletionSource();
        await using var server = await FrameServer.StartAsync(async c =>
        {
            subscriptions.Enqueue(await c.ReceiveTextAsync());
            if (c.Index == 0)
            {
                await c.SendAsync(Btc);
                await delivered.Task;
                await c.CloseAsync();
                return;
            }
            await c.SendAsync(Eth);
            await c.StaySilentAsync();
        });
        var source = new BackpackBookTickerSource(Options(server.Url));

        var quotes = await TakeAsync(source, 2, _ => delivered.TrySetResult());

        Assert.Equal(["BTC_USDC", "ETH_USDC"], quotes.Select(q => q.Symbol));
        Assert.Equal(2, subscriptions.Count);
        Assert.All(subscriptions, AssertSubscribesToAllThree);
        Assert.Equal((1, 2), (source.Stats.Reconnects, source.Stats.Connections));
    }

    [Fact]
    public async Task A_silent_connection_is_dropped_as_stale_and_replaced()
    {
        await using var server = await FrameServer.StartAsync(async c =>
        {
            await c.ReceiveTextAsync();
            await c.SendAsync(c.Index == 0 ? Sol : Eth);
            await c.StaySilentAsync();
        });
        var time = new ManualTime();
        var options = Options(server.Url);
        var source = new BackpackBookTickerSource(options, time);
        Task? goingStale = null;

        var quotes = await TakeAsync(source, 2, _ => goingStale ??= Task.Run(() => GoStaleOnce(time, source, options)));
        await goingStale!;

        Assert.Equal(["SOL_USDC", "ETH_USDC"], quotes.Select(q => q.Symbol));
        Assert.Equal((1, 1, 2), (source.Stats.StaleTimeouts, source.Stats.Reconnects, source.Stats.Connections));
    }
}
