using Exchange.Feed.Exchanges;
using static Exchange.Feed.Tests.AdapterHarness;

namespace Exchange.Feed.Tests;

/// <summary>The Binance adapter against a local server playing frames in Binance's documented combined-stream format.</summary>
public sealed class BinanceBookTickerSourceTests
{
    private const string Btc = """{"stream":"btcusdc@bookTicker","data":{"u":67251293001,"s":"BTCUSDC","b":"95000.01000000","B":"0.41000000","a":"95000.02000000","A":"1.20000000"}}""";
    private const string Eth = """{"stream":"ethusdc@bookTicker","data":{"u":31222904012,"s":"ETHUSDC","b":"3500.12000000","B":"12.50000000","a":"3500.13000000","A":"3.10000000"}}""";
    private const string Sol = """{"stream":"solusdc@bookTicker","data":{"u":12290033811,"s":"SOLUSDC","b":"240.12345678","B":"40.00000000","a":"240.12400000","A":"38.20000000"}}""";

    private static string BtcBook(string bid, string ask) =>
        $$$"""{"stream":"btcusdc@bookTicker","data":{"u":1,"s":"BTCUSDC","b":"{{{bid}}}","B":"1.0","a":"{{{ask}}}","A":"1.0"}}""";

    [Fact]
    public async Task Recorded_frames_arrive_as_exact_quotes_in_our_symbols()
    {
        await using var server = await FrameServer.StartAsync(async c =>
        {
            await c.SendAllAsync([Btc, Eth, Sol]);
            await c.StaySilentAsync();
        });
        var source = new BinanceBookTickerSource(Options(server.Url));

        var quotes = await TakeAsync(source, 3);

        Assert.Equal("/stream?streams=btcusdc@bookTicker/ethusdc@bookTicker/solusdc@bookTicker", Assert.Single(server.Requests));
        Assert.Equal(
            [("BTC_USDC", 9_500_001_000_000L, 9_500_002_000_000L), ("ETH_USDC", 350_012_000_000L, 350_013_000_000L),
             ("SOL_USDC", 24_012_345_678L, 24_012_400_000L)],
            quotes.Select(q => (q.Symbol, q.Bid.Raw, q.Ask.Raw)));
        Assert.Equal(new BookTickerStats(Frames: 3, Quotes: 3, Malformed: 0, Rejected: 0, Reconnects: 0, Connections: 1, StaleTimeouts: 0),
            source.Stats);
    }

    [Fact]
    public async Task Garbage_truncated_incomplete_crossed_and_zero_frames_are_skipped_and_counted()
    {
        string[] malformed =
        [
            "hello, not json",
            """{"stream":"btcusdc@bookTicker","data":{"u":1,"s":"BTCUSDC","b":"9500""", // truncated
            """{"stream":"dogeusdc@bookTicker","data":{"u":2,"s":"DOGEUSDC","b":"0.1","B":"1","a":"0.2","A":"1"}}""",
            """{"stream":"btcusdc@bookTicker","data":{"u":3,"s":"BTCUSDC","b":"95000.01","B":"1"}}""", // no ask
            """{"stream":"btcusdc@bookTicker","data":{"u":4,"s":"BTCUSDC","b":95000.01,"B":"1","a":"95000.02","A":"1"}}""", // a number
            """{"stream":"btcusdc@bookTicker","data":{"u":5,"s":"ETHUSDC","b":"3500","B":"1","a":"3501","A":"1"}}""", // wrong symbol
            BtcBook("95000.000000001", "95000.02"), // a 9th decimal
            BtcBook("-95000", "95000.02"),
            BtcBook("9.5e4", "95000.02"),
            "{}",
            Btc + "}",
        ];
        string[] rejected = [BtcBook("95000.03", "95000.02"), BtcBook("95000.02", "95000.02"), BtcBook("0.00000000", "95000.02"), BtcBook("0", "0")];
        await using var server = await FrameServer.StartAsync(async c =>
        {
            await c.SendAllAsync([.. malformed, .. rejected, Eth]);
            await c.StaySilentAsync();
        });
        var source = new BinanceBookTickerSource(Options(server.Url));

        var quote = Assert.Single(await TakeAsync(source, 1));

        Assert.Equal(("ETH_USDC", P(3500.12m), P(3500.13m)), (quote.Symbol, quote.Bid, quote.Ask));
        Assert.Equal(new BookTickerStats(Frames: malformed.Length + rejected.Length + 1, Quotes: 1, Malformed: malformed.Length,
            Rejected: rejected.Length, Reconnects: 0, Connections: 1, StaleTimeouts: 0), source.Stats);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_dropped_connection_is_reconnected_and_the_stream_continues(bool abortTcp)
    {
        var delivered = new TaskCompletionSource();
        await using var server = await FrameServer.StartAsync(async c =>
        {
            if (c.Index == 0)
            {
                await c.SendAsync(Btc);
                await delivered.Task; // so that the drop cannot lose the frame in flight
                if (abortTcp)
                    c.Abort();
                else
                    await c.CloseAsync();
                return;
            }
            await c.SendAsync(Eth);
            await c.StaySilentAsync();
        });
        var source = new BinanceBookTickerSource(Options(server.Url));

        var quotes = await TakeAsync(source, 2, _ => delivered.TrySetResult());

        Assert.Equal(["BTC_USDC", "ETH_USDC"], quotes.Select(q => q.Symbol));
        Assert.Equal(2, server.Connections);
        Assert.Single(server.Requests.Distinct());
        var stats = source.Stats;
        Assert.Equal((1, 2, 0), (stats.Reconnects, stats.Connections, stats.StaleTimeouts));
    }

    [Fact]
    public async Task A_silent_connection_is_dropped_as_stale_and_replaced()
    {
        await using var server = await FrameServer.StartAsync(async c =>
        {
            await c.SendAsync(c.Index == 0 ? Btc : Eth);
            await c.StaySilentAsync();
        });
        var time = new ManualTime();
        var options = Options(server.Url);
        var source = new BinanceBookTickerSource(options, time);
        Task? goingStale = null;

        var quotes = await TakeAsync(source, 2, _ => goingStale ??= Task.Run(() => GoStaleOnce(time, source, options)));
        await goingStale!;

        Assert.Equal(["BTC_USDC", "ETH_USDC"], quotes.Select(q => q.Symbol));
        var stats = source.Stats;
        Assert.Equal((1, 1, 2), (stats.StaleTimeouts, stats.Reconnects, stats.Connections));
    }

    [Fact]
    public async Task A_server_that_hangs_up_after_every_first_quote_is_redialled_ever_more_slowly()
    {
        await using var server = await FrameServer.StartAsync(async c =>
        {
            await c.SendAsync(Btc);
            await c.CloseAsync();
        });
        var time = new ManualTime();
        var options = Options(server.Url);
        var source = new BinanceBookTickerSource(options, time);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var reading = Task.Run(async () =>
        {
            try
            {
                await foreach (var _ in source.ReadAsync(stop.Token)) { }
            }
            catch (OperationCanceledException) { }
        });

        var waits = new List<TimeSpan>();
        for (var connection = 1; connection <= 5; connection++)
        {
            // Quoted and hung up on: the back-off's delay is the only timer left.
            WaitUntil(() => source.Stats.Quotes == connection && time.ActiveTimers == 1 && time.NextDue <= options.ReconnectMaxDelay,
                $"connection {connection} to quote and be hung up on");
            var wait = time.NextDue!.Value;
            waits.Add(wait);
            time.Advance(wait);
        }
        await stop.CancelAsync();
        await reading;

        // 20, 40, 80, 160 ms, then the 200 ms cap (each wait half to all of it), not 20 ms each time.
        Assert.True(waits[^1] >= options.ReconnectMaxDelay / 2, string.Join(", ", waits.Select(w => w.TotalMilliseconds)));
    }

    [Fact]
    public async Task An_exchange_that_is_down_is_retried_until_it_is_back()
    {
        var port = FreePort();
        var source = new BinanceBookTickerSource(Options(new Uri($"ws://127.0.0.1:{port}")));
        var reading = TakeAsync(source, 1);

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (source.Stats.Reconnects < 3 && DateTime.UtcNow < deadline)
            await Task.Delay(10);
        Assert.Equal(0, source.Stats.Connections);
        await using var server = await FrameServer.StartAsync(async c =>
        {
            await c.SendAsync(Sol);
            await c.StaySilentAsync();
        }, port);

        Assert.Equal("SOL_USDC", Assert.Single(await reading).Symbol);
        Assert.True(source.Stats.Reconnects >= 3);
        Assert.Equal(1, source.Stats.Connections);
    }

    [Fact]
    public async Task Cancelling_ends_the_source_even_while_it_waits_to_reconnect()
    {
        var source = new BinanceBookTickerSource(Options(new Uri($"ws://127.0.0.1:{FreePort()}")) with
        {
            ReconnectBaseDelay = TimeSpan.FromSeconds(30),
            ReconnectMaxDelay = TimeSpan.FromSeconds(30),
        });
        using var stop = new CancellationTokenSource();
        var reading = Task.Run(async () =>
        {
            await foreach (var _ in source.ReadAsync(stop.Token))
            {
            }
        });
        await Task.Delay(300); // refused at once on loopback: now in its 15-30 s back-off

        await stop.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reading.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal((0, 0), (source.Stats.Connections, source.Stats.Reconnects));
    }
}
