using System.Runtime.CompilerServices;

namespace Exchange.Feed.Replay;

/// <summary>
/// Plays replay rows at their relative times from the moment reading starts, then holds: the last
/// quote of every asset is yielded again each <c>holdInterval</c>, so the feed keeps them fresh
/// rather than letting them go stale as it would after a silent source. Quotes are stamped with
/// the playback time. Each <see cref="ReadAsync"/> plays from the beginning.
/// </summary>
public sealed class ReplayPriceSource : IPriceSource
{
    private readonly IReadOnlyList<ReplayRow> _rows;
    private readonly TimeSpan _holdInterval;
    private readonly TimeProvider _time;

    public ReplayPriceSource(IReadOnlyList<ReplayRow> rows, TimeSpan holdInterval, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0)
            throw new ArgumentException("nothing to replay", nameof(rows));
        if (holdInterval <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(holdInterval), "must be positive");
        _rows = rows;
        _holdInterval = holdInterval;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Loads and checks the whole file now, so a bad file fails at start-up.</summary>
    /// <exception cref="FeedConfigurationException">The file cannot be read or has a bad row.</exception>
    public static ReplayPriceSource FromFile(string path, IReadOnlyCollection<string> assets, TimeSpan holdInterval, TimeProvider? time = null) =>
        new(ReplayFile.Load(path, assets), holdInterval, time);

    /// <summary>The same rows played on <paramref name="time"/>.</summary>
    public ReplayPriceSource WithClock(TimeProvider time) => new(_rows, _holdInterval, time);

    public IReadOnlyList<ReplayRow> Rows => _rows;

    /// <summary>When the last row plays, from the start of reading.</summary>
    public TimeSpan Duration => TimeSpan.FromMilliseconds(_rows[^1].OffsetMs);

    public async IAsyncEnumerable<Quote> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        var startedMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var last = new Dictionary<string, Quote>(StringComparer.Ordinal);
        foreach (var row in _rows)
        {
            // Each wait is measured from the start, not from the previous row, so delays never add up.
            await WaitUntilAsync(started, TimeSpan.FromMilliseconds(row.OffsetMs), cancellationToken).ConfigureAwait(false);
            var quote = new Quote(row.Symbol, row.Bid, row.Ask, startedMs + row.OffsetMs);
            last[row.Symbol] = quote;
            yield return quote;
        }

        var held = last.Values.ToArray();
        for (long n = 1; ; n++)
        {
            var due = Duration + _holdInterval * n;
            await WaitUntilAsync(started, due, cancellationToken).ConfigureAwait(false);
            foreach (var quote in held)
                yield return quote with { TimestampMs = startedMs + (long)due.TotalMilliseconds };
        }
    }

    private async Task WaitUntilAsync(long started, TimeSpan due, CancellationToken cancellationToken)
    {
        var wait = due - _time.GetElapsedTime(started);
        if (wait > TimeSpan.Zero)
            await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
    }
}
