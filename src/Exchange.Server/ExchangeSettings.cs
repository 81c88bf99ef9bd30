using System.Globalization;
using Exchange.Engine;
using Exchange.Journal;

namespace Exchange.Server;

/// <summary>Configuration under the seed's variable names, validated once at start.</summary>
internal sealed record ExchangeSettings(string DataDirectory, long SnapshotIntervalMs, int MaxSnapshots)
{
    /// <summary>Reads and checks the settings; a bad value throws with one line that names the variable.</summary>
    public static ExchangeSettings From(IConfiguration config) => new(
        DataDirectory: Path.GetFullPath(config["EXCHANGE_DATA_DIR"] is { Length: > 0 } dir ? dir : "./data"),
        SnapshotIntervalMs: Number(config, "ENGINE_SNAPSHOT_INTERVAL", 15_000, min: 100, max: 86_400_000),
        MaxSnapshots: (int)Number(config, "ENGINE_MAX_SNAPSHOTS", 10, min: 1, max: 1_000));

    public EngineHostOptions EngineHostOptions() => new()
    {
        DataDirectory = DataDirectory, SnapshotIntervalMs = SnapshotIntervalMs, MaxSnapshots = MaxSnapshots,
        Engine = new EngineConfig(),
    };

    private static long Number(IConfiguration config, string name, long fallback, long min, long max)
    {
        var text = config[name];
        if (string.IsNullOrWhiteSpace(text)) return fallback;
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
            throw new InvalidConfigurationException($"{name}={text} is invalid: expected a whole number from {min} to {max}.");
        return value;
    }
}

internal sealed class InvalidConfigurationException(string message) : Exception(message);
