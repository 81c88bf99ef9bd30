using System.Diagnostics;
using System.Globalization;
using Exchange.Engine;
using Exchange.Journal;

namespace Exchange.Benchmarks;

/// <summary>
/// Durable throughput of the whole host (issue 3): an <see cref="EngineHost"/> over a real
/// journal, <c>--submitters</c> concurrent clients, each awaiting its reply (released only
/// once the record is fsynced) before it sends the next command. Every client owns a share
/// of the pre-created accounts and walks over them, opening a trade on each account and
/// closing it on the next pass (CREATE_TRADE / CLOSE_TRADE half and half), while a ticker
/// thread moves the three books every millisecond through the same log. Acknowledgement
/// latency is measured from the call to <c>SubmitAsync</c> to the awaiting code running again.
/// <code>dotnet run -c Release --project bench/Exchange.Benchmarks -- durable [--submitters 64] [--seconds 10] [--warmup 2] [--accounts 10000] [--fsync on|off|both] [--dir PATH]</code>
/// </summary>
public static class DurableThroughput
{
    private static readonly decimal[] BaseBids = [60_000.00m, 3_000.00m, 150.00m];

    public static int Run(string[] args)
    {
        var submitters = 64;
        var seconds = 10.0;
        var warmup = 2.0;
        var accounts = 10_000;
        var root = Path.GetTempPath();
        bool[] modes = [true, false];
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--submitters": submitters = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--seconds": seconds = double.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--warmup": warmup = double.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--accounts": accounts = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--dir": root = args[i + 1]; break;
                case "--fsync": modes = args[i + 1] switch { "on" => [true], "off" => [false], _ => [true, false] }; break;
                default:
                    Console.Error.WriteLine($"unknown option {args[i]}");
                    return 2;
            }
        }
        if (accounts < submitters) accounts = submitters;

        Console.WriteLine($"durable host throughput: {submitters} submitters, {accounts:N0} accounts, " +
            $"{warmup:N0} s warm-up + {seconds:N0} s measured, ticks every ~1 ms; {Environment.ProcessorCount} cores, " +
            $"load average {Load.Average()}");
        var results = new List<Result>();
        foreach (var fsync in modes)
        {
            var directory = Path.Combine(root, "durable-throughput-" + Guid.NewGuid().ToString("N"));
            try
            {
                results.Add(Measure(directory, fsync, submitters, accounts, warmup, seconds));
            }
            finally
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        if (results.Count == 2)
            Console.WriteLine($"fsync on / fsync off throughput: {results[0].CommandsPerSecond / results[1].CommandsPerSecond:P0}; " +
                $"p50 latency {results[0].P50Ms / results[1].P50Ms:N1}x");
        return results.TrueForAll(r => r.Rejected == 0) ? 0 : 1;
    }

    private sealed record Result(double CommandsPerSecond, double P50Ms, long Rejected);

    private static Result Measure(string directory, bool fsync, int submitters, int accounts, double warmupSeconds, double seconds)
    {
        var options = new EngineHostOptions
        {
            DataDirectory = directory,
            Journal = new JournalOptions { FsyncEnabled = fsync },
            SnapshotIntervalMs = 0, // a 10 s run would not reach the 15 s default anyway
        };
        using var host = EngineHost.Start(options);
        var users = new UserId[accounts];
        for (var i = 0; i < accounts; i++) users[i] = new UserId(Guid.NewGuid());

        // Books first, then every account (in parallel chunks, to keep set-up short).
        var prices = new long[BaseBids.Length];
        for (var a = 0; a < BaseBids.Length; a++)
        {
            prices[a] = Price.FromDecimal(BaseBids[a]).Raw;
            host.SubmitTick(new AssetId(a), new Price(prices[a]), new Price(Ask(prices[a])));
        }
        for (var start = 0; start < accounts; start += 1024)
        {
            var chunk = new List<Task<CommandReply>>();
            for (var i = start; i < Math.Min(accounts, start + 1024); i++)
                chunk.Add(host.SubmitAsync(EngineInput.CreateAccount(0, 0, users[i], Guid.NewGuid())));
            foreach (var reply in Task.WhenAll(chunk).GetAwaiter().GetResult())
                if (!reply.Accepted) throw new InvalidOperationException($"CREATE_ACCOUNT rejected: {reply.Code}");
        }

        using var stop = new CancellationTokenSource();
        var ticker = new Thread(() => Tick(host, prices, stop.Token)) { IsBackground = true, Name = "ticker" };
        ticker.Start();

        var statsBefore = default(JournalStats);
        var gcBefore = (0, 0, 0);
        var frequency = Stopwatch.Frequency;
        var begin = Stopwatch.GetTimestamp();
        var measureFrom = begin + (long)(warmupSeconds * frequency);
        var measureTo = measureFrom + (long)(seconds * frequency);
        var clients = new Client[submitters];
        var tasks = new Task[submitters];
        for (var s = 0; s < submitters; s++)
        {
            var mine = new List<UserId>();
            for (var i = s; i < accounts; i += submitters) mine.Add(users[i]);
            clients[s] = new Client(host, [.. mine], s, measureFrom, measureTo);
            tasks[s] = Task.Run(clients[s].RunAsync);
        }
        // Journal counters and GC counts over the measured window only.
        Thread.Sleep(TimeSpan.FromSeconds(warmupSeconds));
        statsBefore = host.JournalStats;
        gcBefore = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
        var window = Stopwatch.StartNew();
        Task.WaitAll(tasks);
        var elapsedWindow = window.Elapsed;
        var stats = host.JournalStats;
        var gc = (GC.CollectionCount(0) - gcBefore.Item1, GC.CollectionCount(1) - gcBefore.Item2, GC.CollectionCount(2) - gcBefore.Item3);
        stop.Cancel();
        ticker.Join();

        var latencies = new List<long>();
        long rejected = 0, opens = 0, closes = 0, ticks = 0;
        RejectCode firstRejection = default;
        foreach (var c in clients)
        {
            latencies.AddRange(c.Latencies);
            rejected += c.Rejected;
            opens += c.Opens;
            closes += c.Closes;
            if (firstRejection == default) firstRejection = c.FirstRejection;
        }
        ticks = Interlocked.Read(ref _ticks);
        var sorted = latencies.ToArray();
        Array.Sort(sorted);
        double Ms(double q) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)(sorted.Length * q))] * 1000.0 / frequency;
        var windowSeconds = (measureTo - measureFrom) / (double)frequency;
        var perSecond = sorted.Length / windowSeconds;
        var batches = stats.Batches - statsBefore.Batches;
        var records = stats.Records - statsBefore.Records;
        var fsyncs = stats.Fsyncs - statsBefore.Fsyncs;
        var fsyncTime = stats.FsyncTime - statsBefore.FsyncTime;

        Console.WriteLine($"fsync {(fsync ? "on " : "off")}: {perSecond,10:N0} commands/s acknowledged " +
            $"({sorted.Length:N0} in {windowSeconds:N1} s; {opens:N0} opens, {closes:N0} closes, {rejected:N0} rejected" +
            $"{(rejected > 0 ? $", first {firstRejection}" : "")})");
        Console.WriteLine($"  ack latency p50 {Ms(0.50):N3} ms, p90 {Ms(0.90):N3} ms, p99 {Ms(0.99):N3} ms, " +
            $"p99.9 {Ms(0.999):N3} ms, max {Ms(1.0):N3} ms");
        Console.WriteLine($"  journal over the window: {records / elapsedWindow.TotalSeconds:N0} records/s (with ~{ticks / (warmupSeconds + elapsedWindow.TotalSeconds):N0} ticks/s), " +
            $"{batches:N0} batches = {batches / elapsedWindow.TotalSeconds:N0}/s, mean batch {(batches == 0 ? 0 : (double)records / batches):N1} records, " +
            $"fsync mean {(fsyncs == 0 ? 0 : fsyncTime.TotalMilliseconds / fsyncs):N3} ms (max {stats.MaxFsync.TotalMilliseconds:N1} ms over the run)");
        Console.WriteLine($"  GCs in the window: gen0 {gc.Item1}, gen1 {gc.Item2}, gen2 {gc.Item3}; " +
            $"open trades at the end {host.ReadAsync(e => e.OpenTradeCount).GetAwaiter().GetResult():N0}");
        Interlocked.Exchange(ref _ticks, 0);
        return new Result(perSecond, Ms(0.5), rejected);
    }

    private static long _ticks;

    /// <summary>A random walk of at most ±0.2 % around each base price, one asset per millisecond.</summary>
    private static void Tick(EngineHost host, long[] prices, CancellationToken stop)
    {
        var random = new Random(7);
        var asset = 0;
        while (!stop.IsCancellationRequested)
        {
            Thread.Sleep(1);
            var basePrice = Price.FromDecimal(BaseBids[asset]).Raw;
            var step = basePrice / 10_000 * (random.Next(3) - 1);
            prices[asset] = Math.Clamp(prices[asset] + step, basePrice - basePrice / 500, basePrice + basePrice / 500);
            host.SubmitTick(new AssetId(asset), new Price(prices[asset]), new Price(Ask(prices[asset])));
            Interlocked.Increment(ref _ticks);
            asset = (asset + 1) % prices.Length;
        }
    }

    private static long Ask(long bid) => bid + bid / 100_000; // a 1 bp spread

    /// <summary>
    /// One client: opens a trade on each of its accounts, then closes them on the next pass.
    /// Leverage 1..20 and stops/targets 5 % away, so the ±0.2 % walk never fires a trigger.
    /// </summary>
    private sealed class Client(EngineHost host, UserId[] users, int index, long measureFrom, long measureTo)
    {
        private readonly TradeId[] _open = new TradeId[users.Length];
        private readonly Random _random = new(index);
        public readonly List<long> Latencies = new(1 << 16);
        public long Rejected, Opens, Closes;
        public RejectCode FirstRejection;

        public async Task RunAsync()
        {
            var k = 0;
            var n = 0L;
            while (true)
            {
                var started = Stopwatch.GetTimestamp();
                if (started >= measureTo) return;
                var user = users[k];
                EngineInput input;
                if (_open[k] == default)
                {
                    var asset = (int)((index + n) % BaseBids.Length);
                    var direction = (n / 3) % 2 == 0 ? Direction.Long : Direction.Short;
                    var isLong = direction == Direction.Long;
                    var reference = BaseBids[asset];
                    decimal? stopLoss = n % 4 is 0 or 2 ? Math.Round(reference * (isLong ? 0.95m : 1.05m), 2) : null;
                    decimal? takeProfit = n % 4 is 1 or 2 ? Math.Round(reference * (isLong ? 1.05m : 0.95m), 2) : null;
                    var id = new TradeId(new UInt128((ulong)_random.NextInt64(), (ulong)_random.NextInt64()));
                    input = EngineInput.CreateTrade(0, 0, user, id, Market.Symbols[asset], direction,
                        margin: 10 + n % 50, leverage: 1 + n % 20, stopLoss, takeProfit, Guid.NewGuid());
                }
                else
                {
                    input = EngineInput.CloseTrade(0, 0, user, _open[k], Guid.NewGuid());
                }
                var reply = await host.SubmitAsync(input);
                var finished = Stopwatch.GetTimestamp();
                if (started >= measureFrom && finished <= measureTo)
                {
                    Latencies.Add(finished - started);
                    if (input.Kind == InputKind.CreateTrade) Opens++;
                    else Closes++;
                    if (!reply.Accepted && Rejected++ == 0) FirstRejection = reply.Code;
                }
                if (reply.Accepted) _open[k] = input.Kind == InputKind.CreateTrade ? input.TradeId : default;
                else _open[k] = default;
                n++;
                if (++k == users.Length) k = 0;
            }
        }
    }
}
