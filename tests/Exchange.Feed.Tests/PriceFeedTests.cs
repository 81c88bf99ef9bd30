using System.Collections.Concurrent;
using Exchange.Engine;
using static Exchange.Feed.Tests.AdapterHarness;
using static Exchange.Feed.Tests.ChannelSource;

namespace Exchange.Feed.Tests;

/// <summary>The feed's loops against a manual clock; the rules themselves are in <see cref="TickConflatorTests"/>.</summary>
public sealed class PriceFeedTests : IDisposable
{
    private readonly ManualTime _time = new();
    private readonly ConcurrentQueue<(AssetId Asset, Price Bid, Price Ask)> _ticks = new();
    private readonly CancellationTokenSource _stop = new(TimeSpan.FromSeconds(30));

    public void Dispose() => _stop.Dispose();

    private PriceFeed Feed(IPriceSource source, FeedOptions? options = null) =>
        new(source, (asset, bid, ask) => _ticks.Enqueue((asset, bid, ask)), options ?? new FeedOptions(), time: _time);

    // In steps of the feed's flush period (a tenth of the interval), letting its loops catch up each time.
    private void AdvanceSlowly(int ms)
    {
        for (var done = 0; done < ms; done += 100)
        {
            _time.Advance(TimeSpan.FromMilliseconds(100));
            Thread.Sleep(5);
        }
    }

    [Fact]
    public async Task Ticks_reach_the_delegate_conflated_and_are_resent_while_quiet()
    {
        var source = new ChannelSource();
        var feed = Feed(source);
        var running = feed.RunAsync(_stop.Token);

        source.Write(Q("BTC_USDC", 95_000, 95_001));
        WaitUntil(() => _ticks.Count == 1, "the first tick");
        source.Write(Q("BTC_USDC", 95_002, 95_003));
        source.Write(Q("BTC_USDC", 95_004, 95_005));
        source.Write(Q("BTC_USDC", 96_000, 95_000)); // crossed: dropped
        WaitUntil(() => feed.Stats.Received == 4, "the quotes to be read");
        Assert.Single(_ticks);

        WaitUntil(() => _time.ActiveTimers > 0, "the flush timer");
        _time.Advance(TimeSpan.FromMilliseconds(1_000));
        WaitUntil(() => _ticks.Count == 2, "the held tick");
        _time.Advance(TimeSpan.FromMilliseconds(1_000));
        WaitUntil(() => _ticks.Count == 3, "the resent tick");

        var btc = new AssetId(0);
        Assert.Equal(
            [(btc, 95_000m, 95_001m), (btc, 95_004m, 95_005m), (btc, 95_004m, 95_005m)],
            _ticks.Select(t => (t.Asset, t.Bid.ToDecimal(), t.Ask.ToDecimal())));
        Assert.Equal(new FeedStats(Received: 4, Emitted: 3, Resent: 1, Rejected: 1, Ignored: 0, SourceFailures: 0), feed.Stats);

        await _stop.CancelAsync();
        await running; // returns, does not throw, when cancelled
    }

    [Fact]
    public async Task A_failing_source_is_read_again_after_a_delay()
    {
        var source = new ChannelSource();
        source.FailOnNextRead();
        var feed = Feed(source);
        var running = feed.RunAsync(_stop.Token);

        WaitUntil(() => feed.Stats.SourceFailures == 1 && _time.ActiveTimers == 2, "the failure and its retry delay");
        _time.Advance(PriceFeed.RestartDelay);
        WaitUntil(() => source.Reads == 2, "the second read");
        source.Write(Q("ETH_USDC", 3_500, 3_501));
        WaitUntil(() => _ticks.Count == 1, "a tick after the restart");

        await _stop.CancelAsync();
        await running;
    }

    [Fact]
    public async Task The_simulated_source_feeds_every_selected_asset_about_once_per_interval()
    {
        var options = new FeedOptions { Assets = ["ETH_USDC", "SOL_USDC"], UpdateIntervalMs = 1_000, Seed = 3 };
        var feed = Feed(PriceSources.Create(options, _time), options);
        var running = feed.RunAsync(_stop.Token);

        WaitUntil(() => _ticks.Count == 2 && _time.ActiveTimers == 2, "the first ticks and both timers");
        for (var second = 1; second <= 10; second++)
        {
            AdvanceSlowly(1_000);
            // The source's timer keeps one tick for a late loop, not two: on a busy machine, let it catch up each second.
            WaitUntil(() => feed.Stats.Received >= 2 * (second + 1), $"the quotes of second {second}");
        }
        // Loose bounds: the flush loop may run a period late; the exact timing rules are tested
        // without threads in TickConflatorTests.
        WaitUntil(() => _ticks.Count >= 2 * 8, "ten seconds of ticks");

        await _stop.CancelAsync();
        await running;
        Assert.InRange(_ticks.Count, 2 * 8, 2 * 11);
        Assert.Equal(_ticks.Count / 2, _ticks.Count(t => t.Asset == new AssetId(1)), 1.0);
        Assert.All(_ticks, t => Assert.True(t.Bid.IsSet && t.Bid < t.Ask));
        Assert.Equal(0, feed.Stats.Rejected);
    }
}
