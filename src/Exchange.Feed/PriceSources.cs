using Exchange.Feed.Exchanges;
using Exchange.Feed.Replay;
using Exchange.Feed.Simulated;
using Microsoft.Extensions.Logging;

namespace Exchange.Feed;

/// <summary>Builds the source named by <see cref="FeedOptions.Source"/>.</summary>
public static class PriceSources
{
    /// <exception cref="FeedConfigurationException">
    /// The source or an asset is unknown to it, or the replay file cannot be read or has a bad row.
    /// </exception>
    /// <param name="lastMids">Where each market was when the exchange stopped (by symbol): the simulator resumes from there.</param>
    public static IPriceSource Create(FeedOptions options, TimeProvider? time = null, ILogger? logger = null,
        IReadOnlyDictionary<string, decimal>? lastMids = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var source = options.Source;
        if (string.Equals(source, FeedOptions.Simulated, StringComparison.OrdinalIgnoreCase))
            return new SimulatedPriceSource(SimulatedOptionsFor(options, lastMids), time);
        if (string.Equals(source, FeedOptions.Binance, StringComparison.OrdinalIgnoreCase))
            return new BinanceBookTickerSource(BookTickerOptionsFor(options), time, logger);
        if (string.Equals(source, FeedOptions.Backpack, StringComparison.OrdinalIgnoreCase))
            return new BackpackBookTickerSource(BookTickerOptionsFor(options), time, logger);
        if (source.StartsWith(FeedOptions.ReplayPrefix, StringComparison.OrdinalIgnoreCase))
        {
            var replay = ReplayPriceSource.FromFile(source[FeedOptions.ReplayPrefix.Length..], options.Assets,
                TimeSpan.FromMilliseconds(options.UpdateIntervalMs), time);
            // An asset the file never quotes would have no price for as long as the exchange runs.
            var missing = options.Assets.Where(a => !replay.Rows.Any(r => string.Equals(r.Symbol, a, StringComparison.OrdinalIgnoreCase))).ToList();
            if (missing.Count > 0)
                throw new FeedConfigurationException("POLLER_ASSETS",
                    $"the replay file has no rows for {string.Join(", ", missing)}: select the assets it quotes");
            return replay;
        }

        throw new FeedConfigurationException("POLLER_SOURCE",
            $"unknown source '{source}' (expected simulated, binance, backpack or replay:<path>)");
    }

    /// <summary>
    /// The default market parameters for the selected assets, with the options' seed, volatility
    /// and interval, each starting from its last mid when there is one.
    /// </summary>
    public static SimulatedOptions SimulatedOptionsFor(FeedOptions options, IReadOnlyDictionary<string, decimal>? lastMids = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var assets = options.Assets.Select(symbol => SimulatedAsset.FindDefault(symbol)
            ?? throw new FeedConfigurationException("POLLER_ASSETS", $"the simulator has no parameters for '{symbol}'"))
            .Select(asset => lastMids?.GetValueOrDefault(asset.Symbol) is > 0 and var mid ? asset.ResumingAt(mid) : asset);
        return new SimulatedOptions
        {
            Assets = [.. assets],
            Seed = options.Seed,
            Volatility = options.Volatility,
            Interval = TimeSpan.FromMilliseconds(options.UpdateIntervalMs),
        };
    }

    /// <summary>The selected assets and the options' endpoint and reconnect settings; the jitter seed is left random.</summary>
    public static BookTickerOptions BookTickerOptionsFor(FeedOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.ReconnectBaseDelayMs < 1 || options.ReconnectMaxDelayMs < options.ReconnectBaseDelayMs || options.SocketStaleAfterMs < 1)
            throw new FeedConfigurationException("POLLER_SOURCE",
                "reconnect delays and the stale limit must be positive, the maximum delay at least the base");
        return new BookTickerOptions
        {
            Assets = options.Assets,
            Url = options.WebSocketUrl,
            ReconnectBaseDelay = TimeSpan.FromMilliseconds(options.ReconnectBaseDelayMs),
            ReconnectMaxDelay = TimeSpan.FromMilliseconds(options.ReconnectMaxDelayMs),
            StaleAfter = TimeSpan.FromMilliseconds(options.SocketStaleAfterMs),
        };
    }
}
