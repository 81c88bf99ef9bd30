using System.Diagnostics.Metrics;
using Exchange.Feed.Exchanges;

namespace Exchange.Feed;

/// <summary>
/// The feed's counters on /metrics, read when scraped: a feed that goes wrong (an exchange that
/// changed its frames, a connection that keeps dropping, quotes refused as crossed) shows up
/// there, not only in the log, before the engine's prices go stale.
/// </summary>
public sealed class FeedMetrics : IDisposable
{
    public const string MeterName = "Exchange.Feed";

    private readonly Meter _meter = new(MeterName);

    public FeedMetrics(PriceFeed feed, IPriceSource source)
    {
        ArgumentNullException.ThrowIfNull(feed);
        _meter.CreateObservableCounter("exchange_feed_quotes_received", () => feed.Stats.Received,
            description: "Quotes the price source delivered");
        _meter.CreateObservableCounter("exchange_feed_ticks_sent", () => feed.Stats.Emitted,
            description: "Ticks handed to the engine, re-sent last prices included");
        _meter.CreateObservableCounter("exchange_feed_ticks_resent", () => feed.Stats.Resent,
            description: "Last prices re-sent because a quiet interval brought no new quote");
        _meter.CreateObservableCounter("exchange_feed_quotes_rejected", () => feed.Stats.Rejected,
            description: "Quotes refused as crossed, locked or not positive");
        _meter.CreateObservableCounter("exchange_feed_source_failures", () => feed.Stats.SourceFailures,
            description: "Times the price source failed and was started again");
        if (source is not BookTickerSource exchange) return;
        _meter.CreateObservableCounter("exchange_feed_frames_malformed", () => exchange.Stats.Malformed,
            description: "Frames from the exchange that could not be read as a quote");
        _meter.CreateObservableCounter("exchange_feed_reconnects", () => exchange.Stats.Reconnects,
            description: "Reconnections to the exchange");
        _meter.CreateObservableCounter("exchange_feed_stale_connections", () => exchange.Stats.StaleTimeouts,
            description: "Connections dropped for saying nothing for too long");
    }

    public void Dispose() => _meter.Dispose();
}
