using System.Diagnostics;
using System.Globalization;
using Exchange.Engine;
using Exchange.Journal;
using Xunit.Abstractions;

namespace Exchange.Server.Tests;

/// <summary>
/// Kills a real engine process with SIGKILL at random moments under a random workload and
/// checks after every restart that nothing acknowledged was lost or doubled and that the
/// recovered state is exactly the state of the log. Set LONG=1 for many more kills.
/// </summary>
public sealed class CrashRecoveryTests(ITestOutputHelper log) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("exchange-crash-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task A_second_engine_on_a_folder_is_refused_even_with_the_runtimes_file_locking_off()
    {
        // The runtime's switch turns off the flock behind FileShare.None; the journal's lock must not depend on it.
        var lockingOff = new Dictionary<string, string> { ["DOTNET_SYSTEM_IO_DISABLEFILELOCKING"] = "1" };
        await using var first = EngineProcess.Start(_dir, snapshotMs: 0, lockingOff);
        await first.ReadyAsync();

        await using var second = EngineProcess.Start(_dir, snapshotMs: 0, lockingOff);

        await Assert.ThrowsAsync<InvalidOperationException>(() => second.ReadyAsync()); // exited: the journal is in use
    }

    [Fact]
    public async Task Sigkill_at_random_moments_never_loses_or_doubles_an_acknowledged_command()
    {
        var kills = Environment.GetEnvironmentVariable("LONG") == "1" ? 300 : 30;
        var seed = Environment.TickCount;
        log.WriteLine($"seed {seed}, {kills} kills, data {_dir}");
        var random = new Random(seed);
        var workload = new CrashWorkload(random);
        var acknowledged = new Dictionary<Guid, (long Sequence, string Code)>();
        string? expectedHash = null;
        long expectedSequence = 0;

        for (var kill = 0; kill <= kills; kill++)
        {
            await using var engine = EngineProcess.Start(_dir, snapshotMs: random.Next(50, 400));
            var (recoveredSequence, recoveredHash) = await engine.ReadyAsync();
            if (expectedHash is not null)
            {
                Assert.Equal(expectedSequence, recoveredSequence);
                Assert.Equal(expectedHash, recoveredHash);
            }
            if (kill == kills) break;

            var acks = await engine.DriveUntilKilledAsync(workload, TimeSpan.FromMilliseconds(random.Next(30, 400)));
            foreach (var (order, ack) in acks) acknowledged.Add(order, ack);

            (expectedSequence, expectedHash) = CheckJournalAgainst(acknowledged);
        }
        log.WriteLine($"{acknowledged.Count} acknowledged commands survived {kills} kills; last sequence {expectedSequence}");
    }

    /// <summary>
    /// Replays the whole journal into a fresh engine (the reference) and checks it against
    /// every acknowledgement: each acknowledged order is in the log exactly once, at the
    /// sequence it was acknowledged with, with the same outcome; money is conserved.
    /// </summary>
    private (long Sequence, string Hash) CheckJournalAgainst(Dictionary<Guid, (long Sequence, string Code)> acknowledged)
    {
        var reference = new TradingEngine(new EngineConfig());
        var sink = new ReplyCapture();
        var seen = new Dictionary<Guid, (long Sequence, string Code)>();
        using (var journal = FileJournal.Open(Path.Combine(_dir, "journal")))
        {
            foreach (var record in journal.ReadAfter(0))
            {
                var input = InputCodec.Decode(record.Payload.Span);
                sink.Reply = null;
                reference.Apply(in input, sink);
                if (input.Kind == InputKind.PriceTick) continue;
                Assert.True(seen.TryAdd(input.OrderId, (record.Sequence, sink.Reply!.Value.Code.Name())),
                    $"order {input.OrderId} is in the journal twice");
            }
        }
        foreach (var (order, ack) in acknowledged)
        {
            Assert.True(seen.TryGetValue(order, out var logged), $"acknowledged order {order} (sequence {ack.Sequence}) was lost");
            Assert.Equal(ack, logged);
        }
        Assert.True(EngineLineProtocol.IsConserved(reference), "money is not conserved");
        return (reference.LastSequence, reference.StateHash());
    }

    private sealed class ReplyCapture : IEngineSink
    {
        public CommandReply? Reply;
        public void OnReply(in CommandReply reply) => Reply = reply;
        public void OnAccountCreated(in AccountCreated e) { }
        public void OnTradeOpened(in TradeOpened e) { }
        public void OnTradeClosed(in TradeClosed e) { }
        public void OnBalanceChanged(in BalanceChanged e) { }
    }
}

/// <summary>Random commands and ticks for the crash test; prices gap now and then so liquidations happen.</summary>
internal sealed class CrashWorkload(Random random)
{
    private readonly List<Guid> _users = [];
    private readonly List<(Guid User, UInt128 Trade)> _trades = [];
    private readonly long[] _mids = [95_000_00000000, 3_500_00000000, 240_00000000];
    private static readonly string[] Symbols = ["BTC_USDC", "ETH_USDC", "SOL_USDC"];

    /// <summary>The next line, and the order id it carries (Guid.Empty for ticks).</summary>
    public (string Line, Guid Order) Next(int tag)
    {
        var order = Guid.NewGuid();
        var roll = random.Next(100);
        if (_users.Count < 3 || roll < 5)
        {
            var user = Guid.NewGuid();
            _users.Add(user);
            return ($"acct {tag} {order} {user}", order);
        }
        if (roll < 45)
        {
            var asset = random.Next(3);
            var movePpm = random.Next(50) == 0 ? random.Next(-300_000, 300_001) : random.Next(-3_000, 3_001);
            _mids[asset] = Math.Max(100_000_000, _mids[asset] + _mids[asset] / 1_000_000 * movePpm);
            var half = _mids[asset] / 20_000; // 1 bp spread
            return ($"tick {asset} {_mids[asset] - half} {_mids[asset] + half}", Guid.Empty);
        }
        if (roll < 75 || _trades.Count == 0)
        {
            var user = _users[random.Next(_users.Count)];
            var trade = new UInt128((ulong)random.NextInt64(), (ulong)random.NextInt64());
            _trades.Add((user, trade));
            var direction = random.Next(2) == 0 ? "LONG" : "SHORT";
            return ($"open {tag} {order} {user} {trade:x32} {Symbols[random.Next(3)]} {direction} {random.Next(1, 500)} {random.Next(1, 101)}", order);
        }
        var pick = _trades[random.Next(_trades.Count)];
        // Sometimes somebody else's trade: the rejection must survive a crash too.
        var closer = random.Next(10) == 0 ? _users[random.Next(_users.Count)] : pick.User;
        return ($"close {tag} {order} {closer} {pick.Trade:x32}", order);
    }
}

/// <summary>A child <c>Exchange.Server engine-stdio</c> process.</summary>
internal sealed class EngineProcess : IAsyncDisposable
{
    private readonly Process _process;

    private EngineProcess(Process process) => _process = process;

    public static EngineProcess Start(string dataDir, int snapshotMs, IReadOnlyDictionary<string, string>? environment = null)
    {
        var server = Path.Combine(AppContext.BaseDirectory, "Exchange.Server.dll");
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) info.Environment[name] = value;
        foreach (var a in new[] { server, "engine-stdio", "--data", dataDir, "--snapshot-ms", snapshotMs.ToString(CultureInfo.InvariantCulture) })
            info.ArgumentList.Add(a);
        var process = Process.Start(info)!;
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        return new EngineProcess(process);
    }

    public async Task<(long Sequence, string Hash)> ReadyAsync()
    {
        var line = await _process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60))
            ?? throw new InvalidOperationException("The engine exited before it was ready.");
        var f = line.Split(' ');
        Assert.Equal("ready", f[0]);
        return (long.Parse(f[1], CultureInfo.InvariantCulture), f[2]);
    }

    /// <summary>Streams the workload for <paramref name="runFor"/>, then SIGKILLs the process; returns the acknowledgements it got out.</summary>
    public async Task<Dictionary<Guid, (long Sequence, string Code)>> DriveUntilKilledAsync(CrashWorkload workload, TimeSpan runFor)
    {
        var orders = new Dictionary<int, Guid>();
        var acks = new Dictionary<Guid, (long, string)>();
        var reader = Task.Run(async () =>
        {
            while (await _process.StandardOutput.ReadLineAsync() is { } line)
            {
                var f = line.Split(' ');
                if (f[0] != "ack") continue;
                Guid order;
                lock (orders) order = orders[int.Parse(f[1], CultureInfo.InvariantCulture)];
                acks.Add(order, (long.Parse(f[2], CultureInfo.InvariantCulture), f[3]));
            }
        });
        var stopAt = Stopwatch.GetTimestamp() + (long)(runFor.TotalSeconds * Stopwatch.Frequency);
        var tag = 0;
        try
        {
            while (Stopwatch.GetTimestamp() < stopAt)
            {
                var (line, order) = workload.Next(++tag);
                if (order != Guid.Empty) lock (orders) orders[tag] = order;
                await _process.StandardInput.WriteLineAsync(line);
                if (tag % 16 == 0) await _process.StandardInput.FlushAsync();
            }
        }
        catch (IOException)
        {
            // The pipe broke: the process is already gone.
        }
        _process.Kill(); // SIGKILL: no shutdown hooks, no final snapshot, no flush
        await _process.WaitForExitAsync();
        await reader;
        return acks;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
