using System.Diagnostics;
using System.Globalization;

namespace Exchange.LoadTest;

/// <summary>
/// How long this machine's disk takes to make a small append durable: 100-byte writes into a
/// pre-zeroed file in <c>--dir</c> (as the journal writes into its zero-filled segment), each
/// followed by an fsync, at <c>--rate</c> per second (default 2,000) for <c>--seconds</c>
/// (default 10). Every acknowledged command waits for one such fsync, and one that stalls holds
/// up every command that arrives meanwhile, so the stalls counted here are a floor under the
/// exchange's p99 that shifts from hour to hour on a shared host; run it beside a benchmark.
/// <code>dotnet run -c Release --project bench/LoadTest -- disk --dir /path/on/the/data/disk [--rate 2000] [--seconds 10]</code>
/// </summary>
public static class DiskFlush
{
    private const int FileSize = 64 << 20;
    private const double StallMs = 2.5;

    public static int Run(string[] args)
    {
        string? dir = null;
        double rate = 2_000, seconds = 10;
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--dir": dir = args[i + 1]; break;
                case "--rate": rate = double.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--seconds": seconds = double.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                default: Console.Error.WriteLine($"loadtest disk: unknown option {args[i]}"); return 2;
            }
        }
        if (dir is null || !Directory.Exists(dir))
        {
            Console.Error.WriteLine("loadtest disk: --dir must name an existing folder on the disk to test");
            return 2;
        }

        var path = Path.Combine(dir, $"disk-flush-{Environment.ProcessId}.tmp");
        try
        {
            using var file = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write);
            RandomAccess.Write(file, new byte[FileSize], 0);
            RandomAccess.FlushToDisk(file);
            var record = new byte[100];
            Array.Fill(record, (byte)'x');
            var flush = new LatencyHistogram();
            var ticksPerWrite = Stopwatch.Frequency / rate;
            var start = Stopwatch.GetTimestamp();
            long offset = 0, stalls = 0;
            for (long k = 0; k < rate * seconds && offset + record.Length <= FileSize; k++)
            {
                PreciseSleep.Until(start + (long)(k * ticksPerWrite));
                RandomAccess.Write(file, record, offset);
                offset += record.Length;
                var before = Stopwatch.GetTimestamp();
                RandomAccess.FlushToDisk(file);
                var took = Stopwatch.GetTimestamp() - before;
                flush.RecordTicks(took);
                if (took * 1000.0 / Stopwatch.Frequency > StallMs) stalls++;
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"disk flush in {dir}, {flush.Count:N0} appends at {rate:F0}/s: fsync p50 {StepResult.Ms(flush.PercentileMicros(50))}, " +
                $"p99 {StepResult.Ms(flush.PercentileMicros(99))}, p99.9 {StepResult.Ms(flush.PercentileMicros(99.9))}, " +
                $"max {StepResult.Ms(flush.MaxMicros)} ms; {stalls / seconds:F1} stalls over {StallMs} ms per second"));
            return 0;
        }
        finally
        {
            File.Delete(path);
        }
    }
}
