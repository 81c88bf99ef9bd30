namespace Exchange.Data;

/// <summary>A candle width: its wire name (<c>1m</c> ... <c>1d</c>) and its length.</summary>
public sealed record CandleInterval(string Name, int Seconds)
{
    /// <summary>The intervals the exchange keeps, shortest first.</summary>
    public static readonly IReadOnlyList<CandleInterval> All =
    [
        new("1m", 60), new("5m", 300), new("15m", 900), new("1h", 3_600), new("4h", 14_400), new("1d", 86_400),
    ];

    public long Milliseconds => Seconds * 1000L;

    /// <summary>The open time of the bucket holding <paramref name="timestampMs"/>: a UTC-epoch multiple of the interval.</summary>
    public long BucketOf(long timestampMs)
    {
        var (quotient, remainder) = Math.DivRem(timestampMs, Milliseconds);
        return (remainder < 0 ? quotient - 1 : quotient) * Milliseconds;
    }

    /// <summary>One of <see cref="All"/> by its exact name.</summary>
    public static bool TryParse(string? name, out CandleInterval interval)
    {
        interval = All.FirstOrDefault(i => string.Equals(i.Name, name, StringComparison.Ordinal))!;
        return interval is not null;
    }

    public static CandleInterval? FromSeconds(int seconds) => All.FirstOrDefault(i => i.Seconds == seconds);

    public override string ToString() => Name;
}

/// <summary>
/// Builds OHLC candles from ticks, one open candle per asset and interval, in exact decimals.
/// A tick in the open candle's bucket updates it; a tick in a later bucket closes it and opens
/// the next one at the tick's price (so a bucket's open is its first tick); a tick older than
/// the asset's previous one, or than the open bucket, is ignored. Not thread-safe.
/// </summary>
public sealed class CandleBook
{
    private readonly Dictionary<(string Asset, int Seconds), Candle> _open = [];
    private readonly Dictionary<string, long> _lastTick = new(StringComparer.Ordinal);

    public CandleBook(IReadOnlyList<CandleInterval>? intervals = null) => Intervals = intervals ?? CandleInterval.All;

    public IReadOnlyList<CandleInterval> Intervals { get; }

    /// <summary>Ticks ignored because they were older than what the book had already seen.</summary>
    public long LateTicks { get; private set; }

    public IEnumerable<Candle> OpenCandles => _open.Values;

    public Candle? Open(string asset, int intervalSeconds) => _open.GetValueOrDefault((asset, intervalSeconds));

    /// <summary>
    /// Folds one price into every interval's candle. Candles it closes are added to
    /// <paramref name="closed"/>; false when the tick was late and changed nothing.
    /// </summary>
    public bool Apply(string asset, decimal price, long timestampMs, ICollection<Candle>? closed = null)
    {
        ArgumentNullException.ThrowIfNull(asset);
        if (_lastTick.TryGetValue(asset, out var last) && timestampMs < last)
        {
            LateTicks++;
            return false;
        }
        _lastTick[asset] = timestampMs;
        var applied = false;
        foreach (var interval in Intervals)
        {
            var bucket = interval.BucketOf(timestampMs);
            var key = (asset, interval.Seconds);
            if (_open.TryGetValue(key, out var candle))
            {
                if (bucket == candle.OpenTimeMs)
                {
                    if (price > candle.High) candle.High = price;
                    if (price < candle.Low) candle.Low = price;
                    candle.Close = price;
                    applied = true;
                    continue;
                }
                // Only possible for a candle seeded from a later bucket than this tick.
                if (bucket < candle.OpenTimeMs) continue;
                closed?.Add(candle);
            }
            _open[key] = new Candle
            {
                Asset = asset, IntervalSeconds = interval.Seconds, OpenTimeMs = bucket,
                Open = price, High = price, Low = price, Close = price,
            };
            applied = true;
        }
        if (!applied) LateTicks++;
        return applied;
    }

    /// <summary>
    /// Continues from a stored candle (the last one of a previous run, or of the backfill): it
    /// becomes the open candle unless the book already has a later one. When the book already
    /// has the same bucket, both are merged, the stored one being the earlier part.
    /// </summary>
    public void Seed(Candle stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        var key = (stored.Asset, stored.IntervalSeconds);
        if (!_open.TryGetValue(key, out var candle) || candle.OpenTimeMs < stored.OpenTimeMs)
        {
            _open[key] = stored.Clone();
        }
        else if (candle.OpenTimeMs == stored.OpenTimeMs)
        {
            candle.Open = stored.Open;
            candle.High = Math.Max(candle.High, stored.High);
            candle.Low = Math.Min(candle.Low, stored.Low);
        }
    }
}
