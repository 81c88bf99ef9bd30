using System.Numerics;

namespace Exchange.LoadTest;

/// <summary>
/// A log-bucketed histogram of microseconds in the style of HdrHistogram: values below 256 are
/// exact, larger ones fall into 128 linear sub-buckets per power of two, so every reported
/// value is within 0.8 % of a recorded one. Recording is lock-free (one Interlocked add) so
/// every completion thread can write into the same instance.
/// </summary>
public sealed class LatencyHistogram
{
    private const int SubBits = 8;
    private const int SubCount = 1 << SubBits;
    private const int Half = SubCount / 2;
    private const int MaxShift = 40; // 2^47 us: far beyond any timeout

    private readonly long[] _counts = new long[SubCount + MaxShift * Half];
    private long _count;
    private long _sum;
    private long _max;

    public long Count => Interlocked.Read(ref _count);
    public long MaxMicros => Interlocked.Read(ref _max);
    public double MeanMicros => Count == 0 ? 0 : (double)Interlocked.Read(ref _sum) / Count;

    public void RecordTicks(long stopwatchTicks) =>
        Record(stopwatchTicks <= 0 ? 0 : (long)(stopwatchTicks * 1_000_000.0 / System.Diagnostics.Stopwatch.Frequency));

    public void Record(long micros)
    {
        if (micros < 0) micros = 0;
        Interlocked.Increment(ref _counts[Index(micros)]);
        Interlocked.Increment(ref _count);
        Interlocked.Add(ref _sum, micros);
        var max = Interlocked.Read(ref _max);
        while (micros > max)
        {
            var seen = Interlocked.CompareExchange(ref _max, micros, max);
            if (seen == max) break;
            max = seen;
        }
    }

    /// <summary>The value at or below which <paramref name="percent"/> % of the recorded values lie (bucket upper bound, capped at the max).</summary>
    public long PercentileMicros(double percent)
    {
        var total = Count;
        if (total == 0) return 0;
        var target = Math.Max(1, (long)Math.Ceiling(percent / 100.0 * total));
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += Interlocked.Read(ref _counts[i]);
            if (seen >= target) return Math.Min(UpperBound(i), MaxMicros);
        }
        return MaxMicros;
    }

    internal static int Index(long micros)
    {
        if (micros < SubCount) return (int)micros;
        // shift is chosen so that micros >> shift lies in [Half, SubCount).
        var shift = 63 - BitOperations.LeadingZeroCount((ulong)micros) - (SubBits - 1);
        if (shift > MaxShift) return SubCount + MaxShift * Half - 1;
        return SubCount + (shift - 1) * Half + (int)((micros >> shift) - Half);
    }

    internal static long UpperBound(int index)
    {
        if (index < SubCount) return index;
        var shift = (index - SubCount) / Half + 1;
        var sub = (long)((index - SubCount) % Half + Half);
        return ((sub + 1) << shift) - 1;
    }
}
