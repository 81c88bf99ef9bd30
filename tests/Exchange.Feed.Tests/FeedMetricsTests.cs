using System.Diagnostics.Metrics;
using Exchange.Feed.Exchanges;
using static Exchange.Feed.Tests.AdapterHarness;
using static Exchange.Feed.Tests.ChannelSource;

namespace Exchange.Feed.Tests;

/// <summary>What an operator sees of the feed on /metrics.</summary>
public sealed class FeedMetricsTests
{
    [Fact]
    public async Task Quotes_ticks_and_refused_quotes_are_counted_on_the_feeds_meter()
    {
        var source = new ChannelSource();
        var feed = new PriceFeed(source, (_, _, _) => { }, new FeedOptions(), time: new ManualTime());
        using var metrics = new FeedMetrics(feed, source);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var running = feed.RunAsync(stop.Token);

        source.Write(Q("BTC_USDC", 95_000, 95_001));
        source.Write(Q("ETH_USDC", 3_500, 3_499)); // crossed: refused
        WaitUntil(() => feed.Stats.Received == 2, "the quotes to be read");

        var values = Read(metrics);
        Assert.Equal(2, values["exchange_feed_quotes_received"]);
        Assert.Equal(1, values["exchange_feed_ticks_sent"]);
        Assert.Equal(1, values["exchange_feed_quotes_rejected"]);
        Assert.Equal(0, values["exchange_feed_source_failures"]);
        Assert.DoesNotContain("exchange_feed_reconnects", values.Keys); // an exchange's connection counters only for an exchange

        await stop.CancelAsync();
        await running;
    }

    [Fact]
    public void An_exchanges_connection_counters_are_on_the_meter_too()
    {
        var source = new BinanceBookTickerSource(Options(new Uri("ws://127.0.0.1:1")));
        var feed = new PriceFeed(source, (_, _, _) => { }, new FeedOptions(), time: new ManualTime());
        using var metrics = new FeedMetrics(feed, source);

        var values = Read(metrics);

        Assert.Equal(0, values["exchange_feed_reconnects"]);
        Assert.Equal(0, values["exchange_feed_frames_malformed"]);
        Assert.Equal(0, values["exchange_feed_stale_connections"]);
    }

    /// <summary>The feed meter's observable counters as a scrape reads them (the tests here run one at a time: one such meter lives).</summary>
    private static Dictionary<string, long> Read(FeedMetrics metrics)
    {
        GC.KeepAlive(metrics);
        var values = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == FeedMetrics.MeterName) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => values[instrument.Name] = value);
        listener.Start();
        listener.RecordObservableInstruments();
        return values;
    }
}
