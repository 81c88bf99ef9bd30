using Exchange.Feed.Simulated;

namespace Exchange.Feed;

/// <summary>Builds the source named by <see cref="FeedOptions.Source"/>.</summary>
public static class PriceSources
{
    /// <exception cref="FeedConfigurationException">The source or an asset is unknown to it.</exception>
    /// <exception cref="NotSupportedException">The source is valid but not built yet.</exception>
    public static IPriceSource Create(FeedOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var source = options.Source;
        if (string.Equals(source, FeedOptions.Simulated, StringComparison.OrdinalIgnoreCase))
            return new SimulatedPriceSource(SimulatedOptionsFor(options), time);

        if (string.Equals(source, FeedOptions.Binance, StringComparison.OrdinalIgnoreCase) ||
            string.Equals(source, FeedOptions.Backpack, StringComparison.OrdinalIgnoreCase) ||
            source.StartsWith(FeedOptions.ReplayPrefix, StringComparison.OrdinalIgnoreCase))
            throw new NotSupportedException(
                $"POLLER_SOURCE: '{source}' is not implemented yet; use '{FeedOptions.Simulated}'");

        throw new FeedConfigurationException("POLLER_SOURCE",
            $"unknown source '{source}' (expected simulated, binance, backpack or replay:<path>)");
    }

    /// <summary>The default market parameters for the selected assets, with the options' seed, volatility and interval.</summary>
    public static SimulatedOptions SimulatedOptionsFor(FeedOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var assets = options.Assets.Select(symbol => SimulatedAsset.FindDefault(symbol)
            ?? throw new FeedConfigurationException("POLLER_ASSETS", $"the simulator has no parameters for '{symbol}'"));
        return new SimulatedOptions
        {
            Assets = [.. assets],
            Seed = options.Seed,
            Volatility = options.Volatility,
            Interval = TimeSpan.FromMilliseconds(options.UpdateIntervalMs),
        };
    }
}
