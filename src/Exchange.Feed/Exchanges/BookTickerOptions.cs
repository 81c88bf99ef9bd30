namespace Exchange.Feed.Exchanges;

/// <summary>How a book-ticker adapter connects and when it gives up on a connection.</summary>
public sealed record BookTickerOptions
{
    /// <summary>Our symbols (<c>BTC_USDC</c>); each adapter translates them to the exchange's.</summary>
    public required IReadOnlyList<string> Assets { get; init; }

    /// <summary>The exchange's WebSocket endpoint; null means its public one. Tests point this at a local server.</summary>
    public Uri? Url { get; init; }

    /// <summary>First wait after a lost connection; doubles per failed attempt up to <see cref="ReconnectMaxDelay"/>.</summary>
    public TimeSpan ReconnectBaseDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan ReconnectMaxDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A connection that delivers no frame for this long is dropped and replaced: a half-open TCP
    /// connection can look alive for minutes, and BTC/ETH/SOL book tickers change many times a second.
    /// </summary>
    public TimeSpan StaleAfter { get; init; } = TimeSpan.FromSeconds(30);

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Seeds the reconnect jitter; null draws a random seed, so several feeds that lost the same
    /// exchange do not all come back in the same millisecond. Tests set it to be deterministic.
    /// </summary>
    public long? JitterSeed { get; init; }

    /// <summary>A book-ticker frame is ~200 bytes; a bigger message is skipped as malformed.</summary>
    public int MaxFrameBytes { get; init; } = 64 * 1024;
}

/// <summary>
/// Counters since the source was created. <see cref="Frames"/> counts every message received;
/// <see cref="Malformed"/> ones were skipped (not JSON, truncated, unknown stream, missing or
/// inexact fields); <see cref="Rejected"/> ones parsed but were crossed, locked or zero;
/// <see cref="Reconnects"/> are connection attempts after the first; <see cref="StaleTimeouts"/>
/// are connections dropped for silence.
/// </summary>
public readonly record struct BookTickerStats(
    long Frames, long Quotes, long Malformed, long Rejected, long Reconnects, long Connections, long StaleTimeouts);
