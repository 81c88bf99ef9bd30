using System.Diagnostics;
using System.Globalization;
using Exchange.Engine;
using Exchange.Journal;

namespace Exchange.Benchmarks;

/// <summary>
/// Recovery time (issue 3): builds a data folder holding a snapshot of <c>--trades</c> open
/// trades and <c>--records</c> journal records after it (half price ticks, a quarter opens, a
/// quarter closes), then times <see cref="EngineHost.Recover"/> on it, checking the recovered
/// state hash against the engine that produced the log:
/// <list type="bullet">
/// <item><c>--runs</c> times, each in a fresh child process, as a restart pays it (JIT included;
/// the files are in the page cache unless <c>--cold</c> drops them first);</item>
/// <item>then the same number of times in this process (warm JIT), and each phase on its own
/// (snapshot read and verify, restore, journal open, replay, final state hash) to show where
/// the time goes.</item>
/// </list>
/// <code>dotnet run -c Release --project bench/Exchange.Benchmarks -- recovery [--trades 1000000] [--records 1000000] [--accounts N] [--runs 3] [--cold] [--dir PATH] [--keep]</code>
/// </summary>
public static class RecoveryTime
{
    public static int Run(string[] args)
    {
        var trades = 1_000_000;
        var records = -1;
        var accounts = -1;
        var runs = 3;
        var cold = false;
        var keep = false;
        string? existing = null;
        var root = Path.GetTempPath();
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--trades": trades = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--records": records = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--accounts": accounts = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--runs": runs = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--dir": root = args[++i]; break;
                case "--cold": cold = true; break;
                case "--keep": keep = true; break;
                case "--child": existing = args[++i]; break;
                default:
                    Console.Error.WriteLine($"unknown option {args[i]}");
                    return 2;
            }
        }
        if (existing is not null) return Child(existing, cold);
        if (records < 0) records = trades; // a journal in proportion to the state
        if (accounts < 0) accounts = Math.Max(1_000, trades / 10);

        var directory = Path.Combine(root, "recovery-" + Guid.NewGuid().ToString("N"));
        Console.WriteLine($"recovery: {trades:N0} open trades over {accounts:N0} accounts in the snapshot, {records:N0} journal records after it; " +
            $"{Environment.ProcessorCount} cores, load average {Load.Average()}, dir {directory}");
        try
        {
            var options = new EngineHostOptions { DataDirectory = directory, SnapshotIntervalMs = 0 };
            var expected = Build(options, trades, accounts, records);
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);

            var failed = false;
            var fresh = new List<double>();
            for (var run = 1; run <= runs; run++)
            {
                var (ms, hash, line) = RunChild(directory, cold);
                var ok = hash == expected.Hash;
                failed |= !ok;
                fresh.Add(ms);
                Console.WriteLine($"  fresh process {run}: {line}; state hash {(ok ? "matches" : "DIFFERS")}");
            }
            Console.WriteLine($"recovery of {trades:N0} trades + {records:N0} records in a fresh process: {Summary(fresh)} (load average {Load.Average()})");

            var warm = new List<double>();
            for (var run = 1; run <= runs; run++)
            {
                if (cold) PageCache.Evict(directory);
                var (took, report, hash, line) = TimeRecover(options);
                var ok = hash == expected.Hash && report.RecordsReplayed == records;
                failed |= !ok;
                warm.Add(took.TotalMilliseconds);
                Console.WriteLine($"  in this process {run}: {line}; state hash {(ok ? "matches" : "DIFFERS")}");
                GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            }
            Console.WriteLine($"recovery of {trades:N0} trades + {records:N0} records in this process (JIT warm): {Summary(warm)}");

            Phases(options, cold);
            return failed ? 1 : 0;
        }
        finally
        {
            if (keep) Console.WriteLine($"kept {directory}");
            else Directory.Delete(directory, recursive: true);
        }
    }

    private static string Summary(List<double> values)
    {
        values.Sort();
        return $"best {values[0]:N0} ms, median {values[values.Count / 2]:N0} ms, worst {values[^1]:N0} ms";
    }

    /// <summary>
    /// Times <see cref="EngineHost.Recover"/> (after which the engine could serve); the state hash it
    /// computes in the background is awaited afterwards, outside the time, to check the state.
    /// </summary>
    private static (TimeSpan Took, RecoveryReport Report, string Hash, string Line) TimeRecover(EngineHostOptions options)
    {
        var pauseBefore = GC.GetTotalPauseDuration();
        var clock = Stopwatch.StartNew();
        var (engine, journal, _, report) = EngineHost.Recover(options);
        var took = clock.Elapsed;
        var pause = GC.GetTotalPauseDuration() - pauseBefore;
        var hash = report.StateHash.GetAwaiter().GetResult();
        var hashed = clock.Elapsed;
        journal.Dispose();
        var line = string.Create(CultureInfo.InvariantCulture,
            $"EngineHost.Recover {took.TotalMilliseconds:N0} ms (its report, to the end of the replay: {report.Duration.TotalMilliseconds:N0} ms: {report.Phases}; " +
            $"state hash ready after {hashed.TotalMilliseconds:N0} ms), " +
            $"snapshot at {report.SnapshotSequence:N0} + {report.RecordsReplayed:N0} records replayed, {engine.OpenTradeCount:N0} open trades, GC pauses {pause.TotalMilliseconds:N0} ms");
        return (took, report, hash, line);
    }

    /// <summary>The child: one recovery of an existing folder, reported on one line for the parent.</summary>
    private static int Child(string directory, bool cold)
    {
        if (cold) PageCache.Evict(directory);
        var (took, _, hash, line) = TimeRecover(new EngineHostOptions { DataDirectory = directory, SnapshotIntervalMs = 0 });
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RESULT {took.TotalMilliseconds:F1} {hash} {line}"));
        return 0;
    }

    private static (double Ms, string Hash, string Line) RunChild(string directory, bool cold)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
        // Started as `dotnet Exchange.Benchmarks.dll`: the child needs the dll too. (Not by comparing with
        // "Exchange.Benchmarks" without its extension: for the app host that name is "Exchange".)
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
            start.ArgumentList.Add(typeof(RecoveryTime).Assembly.Location);
        foreach (var a in (string[])["recovery", "--child", directory]) start.ArgumentList.Add(a);
        if (cold) start.ArgumentList.Add("--cold");
        using var child = Process.Start(start)!;
        var output = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        var result = output.Split('\n').FirstOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"the child process failed (exit {child.ExitCode}): {output}");
        var parts = result.Split(' ', 4);
        return (double.Parse(parts[1], CultureInfo.InvariantCulture), parts[2], parts[3].TrimEnd());
    }

    private sealed record Expected(string Hash, int OpenTrades);

    /// <summary>The data folder: a snapshot written by <see cref="SnapshotStore"/>, then the journal with fsync off.</summary>
    private static Expected Build(EngineHostOptions options, int trades, int accounts, int records)
    {
        var clock = Stopwatch.StartNew();
        var state = new LargeState(trades, accounts);
        var built = clock.Elapsed;

        var snapshots = new SnapshotStore(Path.Combine(options.DataDirectory, "snapshots"), options.MaxSnapshots);
        clock.Restart();
        var image = state.Engine.CaptureImage();
        var captured = clock.Elapsed;
        clock.Restart();
        var header = snapshots.Write(image, LargeState.Start);
        var written = clock.Elapsed;
        var size = new FileInfo(snapshots.List()[0].Path).Length;
        image = null;

        clock.Restart();
        var buffer = new byte[InputCodec.MaxEncodedLength];
        var rejectedBefore = state.Rejected;
        using (var journal = FileJournal.Open(Path.Combine(options.DataDirectory, "journal"), new JournalOptions { FsyncEnabled = false }))
        {
            for (var i = 0; i < records; i++)
            {
                var input = state.Next();
                journal.Append(input.Sequence, buffer.AsSpan(0, InputCodec.Encode(in input, buffer)));
            }
            journal.Commit();
        }
        var logged = clock.Elapsed;
        var journalBytes = Directory.EnumerateFiles(Path.Combine(options.DataDirectory, "journal"), "*.seg").Sum(f => new FileInfo(f).Length);
        var expected = new Expected(state.Engine.StateHash(), state.Engine.OpenTradeCount);
        Console.WriteLine($"  built the state in {built.TotalMilliseconds:N0} ms; snapshot at sequence {header.LastSequence:N0}: " +
            $"capture {captured.TotalMilliseconds:N1} ms, write {written.TotalMilliseconds:N0} ms, {size / 1e6:N1} MB on disk");
        Console.WriteLine($"  journal: {records:N0} records ({journalBytes / 1e6:N1} MB, {state.Rejected - rejectedBefore:N0} rejected commands among them) " +
            $"written in {logged.TotalMilliseconds:N0} ms; {expected.OpenTrades:N0} open trades at the end");
        return expected;
    }

    /// <summary>The steps of <see cref="EngineHost.Recover"/> one by one, each timed.</summary>
    private static void Phases(EngineHostOptions options, bool cold)
    {
        if (cold) PageCache.Evict(options.DataDirectory);
        var snapshots = new SnapshotStore(Path.Combine(options.DataDirectory, "snapshots"), options.MaxSnapshots);
        var path = snapshots.List()[0].Path;
        var clock = Stopwatch.StartNew();
        using (var file = File.OpenRead(path)) System.Security.Cryptography.SHA256.HashData(file);
        var sha = clock.Elapsed;
        clock.Restart();
        using (var file = File.OpenRead(path))
        {
            file.Position = 136;
            using var gzip = new System.IO.Compression.GZipStream(file, System.IO.Compression.CompressionMode.Decompress);
            gzip.CopyTo(Stream.Null, 1 << 16);
        }
        var gunzip = clock.Elapsed;
        clock.Restart();
        var cpu = ThreadCpu.Now();
        var (image, _) = SnapshotFile.Read(path);
        var read = clock.Elapsed;
        var readCpu = ThreadCpu.Now() - cpu;
        clock.Restart();
        cpu = ThreadCpu.Now();
        var engine = TradingEngine.Restore(options.Engine, image);
        var restored = clock.Elapsed;
        var restoreCpu = ThreadCpu.Now() - cpu;
        clock.Restart();
        using var journal = FileJournal.Open(Path.Combine(options.DataDirectory, "journal"), options.Journal);
        var opened = clock.Elapsed;
        clock.Restart();
        long scanned = 0;
        foreach (var record in journal.ReadAfter(engine.LastSequence)) scanned += record.Payload.Length;
        var scan = clock.Elapsed;
        clock.Restart();
        foreach (var record in journal.ReadAfter(engine.LastSequence)) scanned += InputCodec.Decode(record.Payload.Span).Sequence;
        var decode = clock.Elapsed;
        clock.Restart();
        cpu = ThreadCpu.Now();
        long replayed = 0;
        var byKind = new long[256];
        var countByKind = new long[256];
        foreach (var record in journal.ReadAfter(engine.LastSequence))
        {
            var input = InputCodec.Decode(record.Payload.Span);
            var started = Stopwatch.GetTimestamp();
            engine.Apply(in input, DiscardingSink.Instance);
            byKind[(int)input.Kind] += Stopwatch.GetTimestamp() - started;
            countByKind[(int)input.Kind]++;
            replayed++;
        }
        var replay = clock.Elapsed;
        var replayCpu = ThreadCpu.Now() - cpu;
        var kinds = string.Join(", ", Enum.GetValues<InputKind>().Where(k => countByKind[(int)k] > 0)
            .Select(k => $"{k} {countByKind[(int)k]:N0} x {Stopwatch.GetElapsedTime(0, byKind[(int)k]).TotalMilliseconds * 1000 / countByKind[(int)k]:N2} us"));
        clock.Restart();
        var captured = engine.CaptureImage();
        var capture = clock.Elapsed;
        clock.Restart();
        _ = StateCodec.Hash(captured);
        var hashOnly = clock.Elapsed - capture;
        captured = null;
        clock.Restart();
        cpu = ThreadCpu.Now();
        _ = engine.StateHash();
        var hashed = clock.Elapsed;
        var hashCpu = ThreadCpu.Now() - cpu;
        Console.WriteLine($"  phases: snapshot read + verify {read.TotalMilliseconds:N0} ms (of which alone: file SHA-256 {sha.TotalMilliseconds:N0} ms, gunzip {gunzip.TotalMilliseconds:N0} ms), restore {restored.TotalMilliseconds:N0} ms, " +
            $"journal open (checks every record) {opened.TotalMilliseconds:N0} ms, replay of {replayed:N0} records {replay.TotalMilliseconds:N0} ms " +
            $"(of which alone: read {scan.TotalMilliseconds:N0} ms, read + decode {decode.TotalMilliseconds:N0} ms), " +
            $"final state hash {hashed.TotalMilliseconds:N0} ms (of which alone: CaptureImage {capture.TotalMilliseconds:N0} ms, encode + SHA-256 {hashOnly.TotalMilliseconds:N0} ms)");
        Console.WriteLine($"  engine time per input in the replay: {kinds}");
        Console.WriteLine($"  CPU time of this thread: snapshot read {readCpu.TotalMilliseconds:N0} ms, restore {restoreCpu.TotalMilliseconds:N0} ms, " +
            $"replay {replayCpu.TotalMilliseconds:N0} ms, state hash {hashCpu.TotalMilliseconds:N0} ms");
    }
}

internal static class Load
{
    public static string Average()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ')[..3]);
        }
        catch (IOException)
        {
            return "n/a";
        }
    }
}
