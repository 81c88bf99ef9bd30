using System.Globalization;
using Exchange.Data;
using Exchange.Engine;
using Exchange.Feed;
using Exchange.Feed.Replay;
using Exchange.Journal;
using Exchange.Server.Auth;
using Microsoft.IdentityModel.Tokens;

namespace Exchange.Server;

/// <summary>Configuration under the seed's variable names, validated once at start.</summary>
public sealed record ExchangeSettings
{
    public required string DataDirectory { get; init; }
    public string? DatabaseUrl { get; init; }
    public long SnapshotIntervalMs { get; init; } = 15_000;
    public int MaxSnapshots { get; init; } = 10;
    public int AuthRateLimitPerMinute { get; init; } = 30;

    /// <summary>STREAM_LIMIT_PER_CLIENT: push streams open at once from one client address (IPv6: /64), and for one signed-in trader.</summary>
    public int StreamsPerClient { get; init; } = 20;

    /// <summary>STREAM_LIMIT: push streams open at once in all.</summary>
    public int MaxStreams { get; init; } = 5_000;

    /// <summary>
    /// HISTORY_WAIT_MS: how long a read of the audit trail (an order's outcome, a keyed retry,
    /// closed trades) waits for the recorder to write what the engine already answered.
    /// </summary>
    public TimeSpan HistoryWait { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>METRICS_ALLOWED_FROM: who may scrape /metrics; null: anyone (<see cref="MetricsAccess"/>).</summary>
    public IReadOnlyList<System.Net.IPNetwork>? MetricsAllowedFrom { get; init; }

    /// <summary>CANDLE_BACKFILL: a year of simulated chart history on a first start with no candles, under simulated prices only.</summary>
    public bool CandleBackfill { get; init; } = true;
    public required SymmetricSecurityKey JwtKey { get; init; }
    public EngineConfig Engine { get; init; } = new();
    public required FeedOptions Feed { get; init; }

    /// <summary>The replay source built when the settings were checked, so that its file is read once.</summary>
    public ReplayPriceSource? CheckedReplay { get; init; }

    /// <summary>EXCHANGE_ROLES (or --roles): any of api, engine, feed; all three by default (embedded).</summary>
    public IReadOnlySet<string> Roles { get; init; } = new HashSet<string> { "api", "engine", "feed" };

    /// <summary>Reads and checks the settings; a bad value throws with one line that names the variable.</summary>
    public static ExchangeSettings From(IConfiguration config, bool isDevelopment)
    {
        var dataDirectory = DataDirectoryFrom(config["EXCHANGE_DATA_DIR"] is { Length: > 0 } dir ? dir : "./data");
        if (config["REDIS_URL"] is { Length: > 0 })
            throw new InvalidConfigurationException("REDIS_URL is set, but distributed mode (Redis Streams) is not built yet: unset it to run embedded.");
        var roles = (config["roles"] ?? config["EXCHANGE_ROLES"] ?? "api,engine,feed")
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
        if (roles.Count == 0 || roles.Any(r => r is not ("api" or "engine" or "feed")))
            throw new InvalidConfigurationException($"EXCHANGE_ROLES={string.Join(',', roles)} is invalid: expected a comma-separated list of api, engine, feed.");
        if (!roles.Contains("engine") || !roles.Contains("api"))
            throw new InvalidConfigurationException("EXCHANGE_ROLES without api or engine needs distributed mode (REDIS_URL), which is not built yet: run api and engine together.");
        var databaseUrl = config["DATABASE_URL"] is { Length: > 0 } url ? url : null;
        FeedOptions feed;
        IPriceSource? checkedSource = null;
        try
        {
            feed = FeedOptions.FromEnvironment(name => config[name]);
            // Built here to be checked: a replay file that is missing or has a bad row, an asset a
            // source cannot quote, a malformed DATABASE_URL stop the start now, not after recovery.
            if (roles.Contains("feed")) checkedSource = PriceSources.Create(feed);
            _ = DatabaseSettings.From(databaseUrl, dataDirectory);
        }
        catch (Exception e) when (e is FeedConfigurationException or FormatException)
        {
            throw new InvalidConfigurationException(e.Message);
        }
        var settings = new ExchangeSettings
        {
            Roles = roles,
            Feed = feed,
            DataDirectory = dataDirectory,
            DatabaseUrl = databaseUrl,
            CheckedReplay = checkedSource as ReplayPriceSource,
            SnapshotIntervalMs = Number(config, "ENGINE_SNAPSHOT_INTERVAL", 15_000, min: 100, max: 86_400_000),
            MaxSnapshots = (int)Number(config, "ENGINE_MAX_SNAPSHOTS", 10, min: 1, max: 1_000),
            AuthRateLimitPerMinute = (int)Number(config, "AUTH_RATE_LIMIT_PER_MINUTE", 30, min: 1, max: 1_000_000),
            StreamsPerClient = (int)Number(config, "STREAM_LIMIT_PER_CLIENT", 20, min: 1, max: 1_000_000),
            MaxStreams = (int)Number(config, "STREAM_LIMIT", 5_000, min: 1, max: 1_000_000),
            HistoryWait = TimeSpan.FromMilliseconds(Number(config, "HISTORY_WAIT_MS", 2_000, min: 1, max: 600_000)),
            MetricsAllowedFrom = MetricsAccess.Parse(config[MetricsAccess.Variable]),
            CandleBackfill = config["CANDLE_BACKFILL"] switch
            {
                null or "" or "true" or "1" => true,
                "false" or "0" => false,
                var other => throw new InvalidConfigurationException($"CANDLE_BACKFILL={other} is invalid: expected true or false."),
            },
            JwtKey = AuthTokens.LoadKey(config["AUTH_JWT_SECRET"], isDevelopment, dataDirectory),
        };
        var stale = settings.Engine.PriceMaxAgeMs;
        if (roles.Contains("feed") && feed.UpdateIntervalMs >= stale)
            throw new InvalidConfigurationException($"POLLER_UPDATE_INTERVAL={feed.UpdateIntervalMs} is invalid: the engine refuses a price " +
                $"older than {stale} ms, so orders would be rejected between ticks; use less than {stale}.");
        // The feed re-sends a quiet asset's last price to keep it fresh, but only while its source
        // is heard from: every re-send resets the engine's price age, so re-sending a dead source's
        // price for longer than that age would let traders open and close at it after the market moved on.
        var resendFor = (int)Math.Max(1, stale - feed.UpdateIntervalMs);
        return feed.StaleAfterMs is 0 || feed.StaleAfterMs > resendFor ? settings with { Feed = feed with { StaleAfterMs = resendFor } } : settings;
    }

    public EngineHostOptions EngineHostOptions() => new()
    {
        DataDirectory = DataDirectory, SnapshotIntervalMs = SnapshotIntervalMs, MaxSnapshots = MaxSnapshots, Engine = Engine,
    };

    /// <summary>
    /// The data folder as a full path, made if missing, for its owner only: it holds password
    /// hashes, every trade and the development signing key. A path that cannot be a folder is
    /// refused here rather than half-way through start-up.
    /// </summary>
    private static string DataDirectoryFrom(string configured)
    {
        try
        {
            // Synced into its parent when made: everything the exchange keeps is under this one name.
            return DirectorySync.Create(Path.GetFullPath(configured), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute).FullName;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new InvalidConfigurationException($"EXCHANGE_DATA_DIR={configured} is not usable as the data folder: {e.Message}");
        }
    }

    private static long Number(IConfiguration config, string name, long fallback, long min, long max)
    {
        var text = config[name];
        if (string.IsNullOrWhiteSpace(text)) return fallback;
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
            throw new InvalidConfigurationException($"{name}={text} is invalid: expected a whole number from {min} to {max}.");
        return value;
    }
}

public sealed class InvalidConfigurationException(string message) : Exception(message);
