using System.Globalization;
using Exchange.Engine;

namespace Exchange.Feed;

/// <summary>How the price feed runs. <see cref="FromEnvironment"/> reads the <c>POLLER_*</c> variables.</summary>
public sealed record FeedOptions
{
    public const string Simulated = "simulated";
    public const string Binance = "binance";
    public const string Backpack = "backpack";
    public const string ReplayPrefix = "replay:";

    public const int MinUpdateIntervalMs = 10;
    public const int MaxUpdateIntervalMs = 3_600_000;
    public const decimal MaxVolatility = 0.01m;

    /// <summary><c>simulated</c> | <c>binance</c> | <c>backpack</c> | <c>replay:&lt;path&gt;</c>.</summary>
    public string Source { get; init; } = Simulated;

    public IReadOnlyList<string> Assets { get; init; } = [.. EngineConfig.DefaultAssets.Select(a => a.Symbol)];

    /// <summary>At most one tick per asset per interval, and at least one while the source is alive.</summary>
    public int UpdateIntervalMs { get; init; } = 1_000;

    /// <summary>
    /// Stop re-sending an asset's last price when its source has said nothing for this long
    /// (0 = never), so a dead feed shows up as stale prices in the engine instead of being hidden.
    /// </summary>
    public int StaleAfterMs { get; init; } = 60_000;

    /// <summary>Simulator only: the same seed gives the same prices.</summary>
    public long Seed { get; init; } = 1;

    /// <summary>Simulator only: standard deviation of the relative price change over one second.</summary>
    public decimal Volatility { get; init; } = 0.0001m;

    /// <summary>Binance/Backpack only: the WebSocket endpoint instead of the exchange's public one (a mirror, a test server).</summary>
    public Uri? WebSocketUrl { get; init; }

    /// <summary>Binance/Backpack only: first reconnect wait, doubled per failed attempt up to <see cref="ReconnectMaxDelayMs"/>.</summary>
    public int ReconnectBaseDelayMs { get; init; } = 500;

    public int ReconnectMaxDelayMs { get; init; } = 30_000;

    /// <summary>Binance/Backpack only: a connection silent this long is dropped and replaced.</summary>
    public int SocketStaleAfterMs { get; init; } = 30_000;

    /// <summary>
    /// Reads <c>POLLER_SOURCE</c>, <c>POLLER_ASSETS</c>, <c>POLLER_UPDATE_INTERVAL</c> (ms) and the
    /// simulator's <c>POLLER_SEED</c> and <c>POLLER_VOLATILITY</c> and the exchanges' <c>POLLER_WS_URL</c>;
    /// unset or blank means the default.
    /// Symbols are checked against <paramref name="known"/> (the engine's assets).
    /// </summary>
    /// <exception cref="FeedConfigurationException">A value is invalid; the message names the variable.</exception>
    public static FeedOptions FromEnvironment(Func<string, string?> get, IReadOnlyList<AssetSpec>? known = null)
    {
        ArgumentNullException.ThrowIfNull(get);
        var options = new FeedOptions();

        if (Value(get, "POLLER_SOURCE") is { } source)
            options = options with { Source = NormalizeSource(source) };

        if (Value(get, "POLLER_ASSETS") is { } assets)
            options = options with { Assets = ParseAssets(assets, known ?? EngineConfig.DefaultAssets) };

        if (Value(get, "POLLER_UPDATE_INTERVAL") is { } interval)
        {
            if (!int.TryParse(interval, NumberStyles.None, CultureInfo.InvariantCulture, out var ms) ||
                ms < MinUpdateIntervalMs || ms > MaxUpdateIntervalMs)
                throw new FeedConfigurationException("POLLER_UPDATE_INTERVAL",
                    $"expected whole milliseconds from {MinUpdateIntervalMs} to {MaxUpdateIntervalMs}, got '{interval}'");
            options = options with { UpdateIntervalMs = ms };
        }

        if (Value(get, "POLLER_SEED") is { } seed)
        {
            if (!long.TryParse(seed, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var s))
                throw new FeedConfigurationException("POLLER_SEED", $"expected a whole number, got '{seed}'");
            options = options with { Seed = s };
        }

        if (Value(get, "POLLER_VOLATILITY") is { } volatility)
        {
            if (!decimal.TryParse(volatility, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var v) ||
                v > MaxVolatility)
                throw new FeedConfigurationException("POLLER_VOLATILITY",
                    $"expected a fraction per second from 0 to {MaxVolatility} (e.g. 0.0001), got '{volatility}'");
            options = options with { Volatility = v };
        }

        if (Value(get, "POLLER_WS_URL") is { } url)
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("ws" or "wss"))
                throw new FeedConfigurationException("POLLER_WS_URL", $"expected an absolute ws:// or wss:// URL, got '{url}'");
            options = options with { WebSocketUrl = uri };
        }

        return options;
    }

    /// <summary>The selected symbols as the engine spells them, each with its engine index.</summary>
    /// <exception cref="FeedConfigurationException">A symbol is not one of <paramref name="known"/>, or none is selected.</exception>
    public IReadOnlyList<(string Symbol, AssetId Asset)> ResolveAssets(IReadOnlyList<AssetSpec> known)
    {
        ArgumentNullException.ThrowIfNull(known);
        var config = new EngineConfig { Assets = known };
        var resolved = new List<(string, AssetId)>();
        foreach (var symbol in Assets)
        {
            if (!config.TryFindAsset(symbol, out var id))
                throw new FeedConfigurationException("POLLER_ASSETS",
                    $"unknown asset '{symbol}' (known: {string.Join(", ", known.Select(a => a.Symbol))})");
            if (!resolved.Contains((known[id.Index].Symbol, id)))
                resolved.Add((known[id.Index].Symbol, id));
        }
        if (resolved.Count == 0)
            throw new FeedConfigurationException("POLLER_ASSETS", "no asset selected");
        return resolved;
    }

    private static string? Value(Func<string, string?> get, string name) =>
        get(name) is { } raw && !string.IsNullOrWhiteSpace(raw) ? raw.Trim() : null;

    private static string NormalizeSource(string source)
    {
        if (source.StartsWith(ReplayPrefix, StringComparison.OrdinalIgnoreCase))
        {
            var path = source[ReplayPrefix.Length..].Trim();
            if (path.Length == 0)
                throw new FeedConfigurationException("POLLER_SOURCE", "replay needs a file: 'replay:<path>'");
            return ReplayPrefix + path;
        }
        var kind = source.ToLowerInvariant();
        return kind is Simulated or Binance or Backpack
            ? kind
            : throw new FeedConfigurationException("POLLER_SOURCE",
                $"unknown source '{source}' (expected simulated, binance, backpack or replay:<path>)");
    }

    // Blank entries are skipped so "BTC_USDC,ETH_USDC," is fine; duplicates collapse.
    private static string[] ParseAssets(string list, IReadOnlyList<AssetSpec> known)
    {
        var symbols = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var options = new FeedOptions { Assets = symbols };
        return [.. options.ResolveAssets(known).Select(a => a.Symbol)];
    }
}
