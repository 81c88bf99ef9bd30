using System.Diagnostics;
using System.Globalization;
using Exchange.Engine;
using Exchange.Journal;

namespace Exchange.Benchmarks;

/// <summary>
/// Raw journal throughput, no engine: one producer appends N encoded CREATE_TRADE inputs as
/// fast as it can and commits after every B of them (the engine thread commits after each run
/// of at most 4,096 inputs), first with fsync and then without, then replays the journal. A
/// plain console measurement (BenchmarkDotNet's repeated invocations do not fit a run whose
/// cost is the disk's fsync).
/// <code>dotnet run -c Release --project bench/Exchange.Benchmarks -- journal [--records N] [--batch B] [--dir PATH] [--fsync on|off|both]</code>
/// </summary>
public static class JournalThroughput
{
    public static int Run(string[] args)
    {
        var records = 1_000_000;
        var batch = 4096;
        var directory = Path.Combine(Path.GetTempPath(), "journal-throughput-" + Guid.NewGuid().ToString("N"));
        var modes = new[] { true, false };
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--records": records = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--batch": batch = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--dir": directory = Path.Combine(args[i + 1], "journal-throughput-" + Guid.NewGuid().ToString("N")); break;
                case "--fsync": modes = args[i + 1] switch { "on" => [true], "off" => [false], _ => [true, false] }; break;
                default:
                    Console.Error.WriteLine($"unknown option {args[i]}");
                    return 2;
            }
        }

        var payload = SamplePayload();
        Console.WriteLine($"journal throughput: {records:N0} records of {payload.Length} bytes (+16 header), a commit every {batch:N0}, dir {directory}");
        foreach (var fsync in modes)
        {
            try
            {
                Measure(directory, records, batch, payload, fsync);
            }
            finally
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        if (modes.Contains(true))
        {
            try
            {
                MeasureSingleRecordCommits(directory, payload, 500);
            }
            finally
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        return 0;
    }

    private static void Measure(string directory, int records, int batch, byte[] payload, bool fsync)
    {
        var options = new JournalOptions { FsyncEnabled = fsync };
        TimeSpan durable;
        JournalStats stats;
        using (var journal = FileJournal.Open(directory, options))
        {
            var clock = Stopwatch.StartNew();
            for (var s = 1L; s <= records; s++)
            {
                journal.Append(s, payload);
                if (s % batch == 0) journal.Commit();
            }
            journal.Commit();
            durable = clock.Elapsed;
            stats = journal.Stats;
        }

        var replay = Stopwatch.StartNew();
        long replayed = 0, bytes = 0;
        using (var journal = FileJournal.Open(directory, options))
        {
            var opened = replay.Elapsed;
            foreach (var record in journal.ReadAfter(0))
            {
                replayed++;
                bytes += record.Payload.Length;
                if (InputCodec.Decode(record.Payload.Span).Kind != InputKind.CreateTrade) throw new InvalidDataException("not the sample input");
            }
            Console.WriteLine($"fsync {(fsync ? "on " : "off")}: {records / durable.TotalSeconds,12:N0} records/s durable " +
                $"({durable.TotalMilliseconds:N0} ms)");
            Console.WriteLine($"  batches {stats.Batches:N0}, mean batch {stats.MeanBatchSize:N1} records, " +
                $"fsyncs {stats.Fsyncs:N0} = {stats.Fsyncs / durable.TotalSeconds:N0}/s, " +
                $"fsync mean {stats.MeanFsync.TotalMilliseconds:N2} ms, max {stats.MaxFsync.TotalMilliseconds:N2} ms, " +
                $"{stats.Bytes / durable.TotalSeconds / (1 << 20):N1} MiB/s");
            Console.WriteLine($"  reopen (validates every record) {opened.TotalMilliseconds:N0} ms, " +
                $"replay + decode of {replayed:N0} records ({bytes / (1 << 20):N0} MiB) {(replay.Elapsed - opened).TotalMilliseconds:N0} ms");
        }
    }

    /// <summary>
    /// One record at a time, each committed: every batch is a single small write plus fsync,
    /// so this is the disk's commit latency, the floor under any acknowledgement.
    /// </summary>
    private static void MeasureSingleRecordCommits(string directory, byte[] payload, int commits)
    {
        var latencies = new double[commits];
        using (var journal = FileJournal.Open(directory, new JournalOptions()))
        {
            for (var s = 1; s <= commits; s++)
            {
                var started = Stopwatch.GetTimestamp();
                journal.Append(s, payload);
                journal.Commit();
                latencies[s - 1] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }
        }
        Array.Sort(latencies);
        Console.WriteLine($"single-record commits (append + commit, fsync on), {commits}: " +
            $"p50 {latencies[commits / 2]:N2} ms, p99 {latencies[commits * 99 / 100]:N2} ms, max {latencies[^1]:N2} ms, " +
            $"mean {latencies.Average():N2} ms");
    }

    /// <summary>A typical CREATE_TRADE as the journal stores it.</summary>
    private static byte[] SamplePayload()
    {
        var input = EngineInput.CreateTrade(1_000_000, 1_700_000_000_000, new UserId(Guid.NewGuid()),
            new TradeId(new UInt128(0x0123456789abcdef, 0xfedcba9876543210)), "BTCUSD", Direction.Long,
            250m, 20m, 60000.5m, 75000m, Guid.NewGuid());
        var buffer = new byte[InputCodec.MaxEncodedLength];
        return buffer[..InputCodec.Encode(input, buffer)];
    }
}
