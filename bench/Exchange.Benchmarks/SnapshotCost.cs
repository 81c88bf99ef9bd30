using System.Diagnostics;
using System.Globalization;
using Exchange.Engine;
using Exchange.Journal;

namespace Exchange.Benchmarks;

/// <summary>
/// Snapshot cost (issue 3), for each of <c>--trades</c> (comma-separated): the engine stall
/// (<see cref="TradingEngine.CaptureImage"/> on the engine thread) measured directly
/// <c>--captures</c> times, then through a running <see cref="EngineHost"/> whose
/// <see cref="EngineHost.SnapshotNowAsync"/> reports the stall, the write time (encode, gzip,
/// SHA-256, fsync, rename) and the size on disk, while a client keeps trading.
/// <code>dotnet run -c Release --project bench/Exchange.Benchmarks -- snapshot [--trades 100000,1000000] [--captures 20] [--snapshots 5] [--dir PATH]</code>
/// </summary>
public static class SnapshotCost
{
    public static int Run(string[] args)
    {
        int[] sizes = [100_000, 1_000_000];
        var captures = 20;
        var snapshots = 5;
        var root = Path.GetTempPath();
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--trades": sizes = [.. args[i + 1].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture))]; break;
                case "--captures": captures = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--snapshots": snapshots = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--dir": root = args[i + 1]; break;
                default:
                    Console.Error.WriteLine($"unknown option {args[i]}");
                    return 2;
            }
        }
        Console.WriteLine($"snapshot cost; {Environment.ProcessorCount} cores, load average {Load.Average()}");
        foreach (var trades in sizes)
        {
            var directory = Path.Combine(root, "snapshot-cost-" + Guid.NewGuid().ToString("N"));
            try
            {
                Measure(directory, trades, Math.Max(1_000, trades / 10), captures, snapshots);
            }
            finally
            {
                Directory.Delete(directory, recursive: true);
            }
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        }
        return 0;
    }

    private static void Measure(string directory, int trades, int accounts, int captures, int snapshots)
    {
        var state = new LargeState(trades, accounts);
        var engine = state.Engine;
        Console.WriteLine($"{trades:N0} open trades, {accounts:N0} accounts:");

        // The stall alone, on this thread, repeated (the first one includes JIT and page faults).
        var stalls = new double[captures];
        for (var i = 0; i < captures; i++)
        {
            var started = Stopwatch.GetTimestamp();
            var image = engine.CaptureImage();
            stalls[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            GC.KeepAlive(image);
        }
        Console.WriteLine($"  CaptureImage x{captures}: first {stalls[0]:N2} ms, then {Summary(stalls[1..])}");

        // Through the host, as production takes them: the snapshot of the built state seeds the
        // folder, the host recovers it, and each SnapshotNowAsync runs while a client trades.
        var store = new SnapshotStore(Path.Combine(directory, "snapshots"), 10);
        store.Write(engine.CaptureImage(), LargeState.Start);
        state = null;
        engine = null;
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);

        var options = new EngineHostOptions { DataDirectory = directory, SnapshotIntervalMs = 0 };
        using var host = EngineHost.Start(options);
        Console.WriteLine($"  host recovered in {host.Recovery.Duration.TotalMilliseconds:N0} ms");
        using var stop = new CancellationTokenSource();
        var trading = Task.Run(() => Trade(host, stop.Token));
        var reports = new List<SnapshotReport>();
        for (var i = 0; i < snapshots; i++)
        {
            Thread.Sleep(200);
            var report = host.SnapshotNowAsync().GetAwaiter().GetResult()!;
            reports.Add(report);
            Console.WriteLine($"  host snapshot {i + 1}: engine stall {report.EngineStall.TotalMilliseconds:N2} ms, " +
                $"written in {report.WriteDuration.TotalMilliseconds:N0} ms, {report.SizeBytes / 1e6:N1} MB, {report.OpenTrades:N0} trades");
        }
        stop.Cancel();
        var commands = trading.GetAwaiter().GetResult();
        var hostStalls = reports.Select(r => r.EngineStall.TotalMilliseconds).ToArray();
        var writes = reports.Select(r => r.WriteDuration.TotalMilliseconds).ToArray();
        Console.WriteLine($"  host: engine stall {Summary(hostStalls)}; write {Summary(writes)}; " +
            $"size {reports[^1].SizeBytes / 1e6:N1} MB ({(double)reports[^1].SizeBytes / reports[^1].OpenTrades:N1} bytes/trade); " +
            $"{commands:N0} commands acknowledged meanwhile");
    }

    /// <summary>One client opening and closing trades on a fresh account, so the engine is busy while snapshots run.</summary>
    private static async Task<long> Trade(EngineHost host, CancellationToken stop)
    {
        var user = new UserId(Guid.NewGuid());
        await host.SubmitAsync(EngineInput.CreateAccount(0, 0, user));
        long n = 0;
        while (!stop.IsCancellationRequested)
        {
            host.SubmitTick(new AssetId(0), Price.FromDecimal(60_000m), Price.FromDecimal(60_000.5m));
            var id = new TradeId(new UInt128(0xbe7c4, (ulong)n + 1));
            var open = await host.SubmitAsync(EngineInput.CreateTrade(0, 0, user, id, "BTC_USDC", Direction.Long, 10, 5));
            if (open.Accepted) await host.SubmitAsync(EngineInput.CloseTrade(0, 0, user, id));
            n += 2;
        }
        return n;
    }

    private static string Summary(double[] values)
    {
        var sorted = (double[])values.Clone();
        Array.Sort(sorted);
        return $"min {sorted[0]:N2} ms, median {sorted[sorted.Length / 2]:N2} ms, max {sorted[^1]:N2} ms";
    }
}
