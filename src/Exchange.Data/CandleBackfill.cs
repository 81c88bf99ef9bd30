using Exchange.Feed.Simulated;

namespace Exchange.Data;

/// <summary>What history to invent for an empty database.</summary>
public sealed record CandleBackfillOptions
{
    /// <summary>The markets (symbols and the prices the history ends at), the seed and the volatility; the interval is not used.</summary>
    public required SimulatedOptions Market { get; init; }

    /// <summary>At least this much 1-minute history (and 5m, 15m from it), extended back to a UTC midnight.</summary>
    public TimeSpan Recent { get; init; } = TimeSpan.FromDays(3);

    /// <summary>Hourly history (and 4h, 1d from it) before the recent part, in whole days.</summary>
    public TimeSpan Older { get; init; } = TimeSpan.FromDays(365);
}

/// <summary>
/// A plausible candle history from the simulated source, so the chart is never empty. Each
/// asset's path is simulated forward from its start price and laid out backwards in time, so the
/// history ends exactly at the start price, where the live simulated feed begins. The last few
/// days come from 15-second steps (1-minute candles), the year before from 5-minute steps
/// (hourly candles); every longer interval is aggregated from those, so the intervals agree
/// with each other and every candle opens at the previous one's close. Deterministic for a
/// seed and a time. About 19k candles per asset with the defaults.
/// </summary>
public static class CandleBackfill
{
    private const long MinuteMs = 60_000, HourMs = 3_600_000, DayMs = 86_400_000;
    private const int RecentStepsPerMinute = 4;
    private const int OlderStepsPerHour = 12;

    // The live simulator jumps every 15 minutes on average, which over a year would be a wild
    // market; the history jumps once a day and drifts back to its level over months, not a day.
    private static readonly TimeSpan HistoryJumpEvery = TimeSpan.FromDays(1);
    private static readonly TimeSpan HistoryReversionHalfLife = TimeSpan.FromDays(60);

    /// <summary>
    /// Candles of every interval for every asset of the options, oldest first per asset and
    /// interval, covering the time before <paramref name="nowMs"/>'s minute: the last 1-minute
    /// candle is the minute before it and closes at the asset's start price. Candles of longer
    /// intervals whose bucket holds that minute are partial (the live ticks continue them).
    /// </summary>
    public static List<Candle> Generate(CandleBackfillOptions options, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(options);
        var end = Floor(nowMs, MinuteMs);
        var recentStart = Floor(end - (long)options.Recent.TotalMilliseconds, DayMs);
        var recentMinutes = (int)((end - recentStart) / MinuteMs);
        var olderHours = (int)(Math.Max(0, (long)options.Older.TotalDays) * 24);

        var all = new List<Candle>();
        foreach (var asset in options.Market.Assets)
        {
            var recent = ReversedPath(options.Market, asset, asset.StartPrice, TimeSpan.FromSeconds(60.0 / RecentStepsPerMinute),
                recentMinutes * RecentStepsPerMinute, seedSalt: 0x5245_4345_4E54); // "RECENT"
            var minutes = Candles(asset.Symbol, recent, RecentStepsPerMinute, end, MinuteInterval);

            decimal[] older = olderHours == 0
                ? [recent[^1]]
                : ReversedPath(options.Market, asset, recent[^1], TimeSpan.FromMinutes(60.0 / OlderStepsPerHour),
                    olderHours * OlderStepsPerHour, seedSalt: 0x4F4C_4445_52); // "OLDER"
            var hours = Candles(asset.Symbol, older, OlderStepsPerHour, recentStart, HourInterval);
            hours.AddRange(Aggregate(minutes, HourInterval));

            foreach (var interval in CandleInterval.All)
            {
                if (interval.Seconds < HourInterval.Seconds)
                    all.AddRange(interval.Seconds == 60 ? minutes : Aggregate(minutes, interval));
                else
                    all.AddRange(interval == HourInterval ? hours : Aggregate(hours, interval));
            }
        }
        return all;
    }

    private static readonly CandleInterval MinuteInterval = CandleInterval.FromSeconds(60)!;
    private static readonly CandleInterval HourInterval = CandleInterval.FromSeconds(3_600)!;

    /// <summary>
    /// Merges consecutive candles (oldest first) into <paramref name="interval"/>'s buckets: first
    /// open, highest high, lowest low, last close.
    /// </summary>
    public static List<Candle> Aggregate(IReadOnlyList<Candle> candles, CandleInterval interval)
    {
        ArgumentNullException.ThrowIfNull(candles);
        ArgumentNullException.ThrowIfNull(interval);
        var result = new List<Candle>();
        Candle? current = null;
        foreach (var c in candles)
        {
            var bucket = interval.BucketOf(c.OpenTimeMs);
            if (current is null || current.OpenTimeMs != bucket)
            {
                current = new Candle
                {
                    Asset = c.Asset, IntervalSeconds = interval.Seconds, OpenTimeMs = bucket,
                    Open = c.Open, High = c.High, Low = c.Low, Close = c.Close,
                };
                result.Add(current);
                continue;
            }
            current.High = Math.Max(current.High, c.High);
            current.Low = Math.Min(current.Low, c.Low);
            current.Close = c.Close;
        }
        return result;
    }

    /// <summary>
    /// <paramref name="steps"/> + 1 prices: [0] is <paramref name="start"/>, [k] the bid after k
    /// steps of the simulator, read as k steps before the end of the history.
    /// </summary>
    private static decimal[] ReversedPath(SimulatedOptions market, SimulatedAsset asset, decimal start, TimeSpan step, int steps,
        long seedSalt)
    {
        var source = new SimulatedPriceSource(new SimulatedOptions
        {
            Assets = [asset with { StartPrice = start }],
            Seed = market.Seed ^ seedSalt,
            Volatility = market.Volatility,
            Interval = step,
            MeanTimeBetweenJumps = HistoryJumpEvery,
            JumpMin = market.JumpMin,
            JumpMax = market.JumpMax,
            MeanReversionHalfLife = HistoryReversionHalfLife,
        });
        var path = new decimal[steps + 1];
        path[0] = start;
        for (var k = 1; k <= steps; k++)
            path[k] = source.Step(0)[0].Bid.ToDecimal();
        return path;
    }

    /// <summary>Candles of <paramref name="stepsPerCandle"/> steps each, oldest first, the last one closing at <paramref name="endMs"/> with path[0].</summary>
    private static List<Candle> Candles(string symbol, decimal[] path, int stepsPerCandle, long endMs, CandleInterval interval)
    {
        var count = (path.Length - 1) / stepsPerCandle;
        var candles = new List<Candle>(count);
        for (var j = count; j >= 1; j--)
        {
            // The candle j from the end spans path[stepsPerCandle × j] (its open) down to path[stepsPerCandle × (j − 1)] (its close).
            var first = stepsPerCandle * j;
            decimal high = path[first], low = path[first];
            for (var k = first - 1; k >= first - stepsPerCandle; k--)
            {
                high = Math.Max(high, path[k]);
                low = Math.Min(low, path[k]);
            }
            candles.Add(new Candle
            {
                Asset = symbol, IntervalSeconds = interval.Seconds, OpenTimeMs = endMs - j * interval.Milliseconds,
                Open = path[first], High = high, Low = low, Close = path[first - stepsPerCandle],
            });
        }
        return candles;
    }

    private static long Floor(long value, long unit)
    {
        var (quotient, remainder) = Math.DivRem(value, unit);
        return (remainder < 0 ? quotient - 1 : quotient) * unit;
    }
}
