using System.Runtime.CompilerServices;
using Exchange.Engine;

namespace Exchange.Journal.Tests;

/// <summary>The engine host over a real journal and snapshot folder: recovery gives back exactly the acknowledged state.</summary>
public sealed class EngineHostTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("exchange-host-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private EngineHostOptions Options(bool fsync = false) => new()
    {
        DataDirectory = _dir,
        SnapshotIntervalMs = 0,
        TrimJournal = false,
        Journal = JournalOptions.Default with { FsyncEnabled = fsync, SegmentSize = 16 << 10 },
    };

    /// <summary>A seeded workload of accounts, ticks with gaps (liquidations), opens and closes; returns the acknowledged replies.</summary>
    private static async Task<List<CommandReply>> Drive(EngineHost host, int seed, int steps)
    {
        var random = new Random(seed);
        var replies = new List<CommandReply>();
        var users = Enumerable.Range(1, 8).Select(i => new UserId(new Guid(i, (short)seed, 0, new byte[8]))).ToArray();
        var mids = new[] { 95_000m, 3_500m, 240m };
        var open = new List<(UserId User, TradeId Id)>();
        foreach (var user in users)
            replies.Add(await host.SubmitAsync(new EngineInput { Kind = InputKind.CreateAccount, User = user }));
        for (var step = 0; step < steps; step++)
        {
            var asset = random.Next(3);
            var move = random.Next(20) == 0 ? random.Next(-300, 301) / 1000m : random.Next(-20, 21) / 10_000m;
            mids[asset] = Math.Max(1m, decimal.Round(mids[asset] * (1 + move), 2));
            host.SubmitTick(new AssetId(asset), Price.FromDecimal(mids[asset] - 0.01m), Price.FromDecimal(mids[asset] + 0.01m));
            var user = users[random.Next(users.Length)];
            if (open.Count > 0 && random.Next(3) == 0)
            {
                var pick = open[random.Next(open.Count)];
                open.Remove(pick);
                replies.Add(await host.SubmitAsync(new EngineInput { Kind = InputKind.CloseTrade, User = pick.User, TradeId = pick.Id }));
            }
            else
            {
                var id = new TradeId(new UInt128((ulong)seed, (ulong)step));
                var reply = await host.SubmitAsync(new EngineInput
                {
                    Kind = InputKind.CreateTrade, User = user, TradeId = id, Symbol = EngineConfig.DefaultAssets[random.Next(3)].Symbol,
                    Direction = random.Next(2) == 0 ? Direction.Long : Direction.Short,
                    Margin = random.Next(10, 300), Leverage = random.Next(1, 101),
                });
                replies.Add(reply);
                if (reply.Accepted) open.Add((user, id));
            }
        }
        return replies;
    }

    private static Task<string> Hash(EngineHost host) => host.ReadAsync(e => e.StateHash());

    /// <summary>Runs a host over the folder, drives it and stops it gracefully (final snapshot included); its state hash.</summary>
    private async Task<string> DriveAndStopAsync(int seed, int steps)
    {
        using var host = EngineHost.Start(Options());
        await Drive(host, seed, steps);
        return await Hash(host);
    }

    /// <summary>The reference: a fresh engine fed every record of the journal.</summary>
    private string ReplayWholeJournal()
    {
        var engine = new TradingEngine(new EngineConfig());
        using var journal = FileJournal.Open(Path.Combine(_dir, "journal"));
        foreach (var record in journal.ReadAfter(0))
            engine.Apply(InputCodec.Decode(record.Payload.Span), DiscardingSink.Instance);
        return engine.StateHash();
    }

    [Fact]
    public async Task Recovery_from_a_mid_run_snapshot_and_the_journal_equals_the_uninterrupted_run()
    {
        string expected;
        using (var host = EngineHost.Start(Options()))
        {
            await Drive(host, seed: 1, steps: 300);
            var snapshot = await host.SnapshotNowAsync();
            Assert.True(snapshot!.Header.LastSequence > 0);
            await Drive(host, seed: 2, steps: 300);
            expected = await Hash(host);
        }
        // Drop the shutdown snapshot so recovery must replay the journal after the mid-run one.
        var snapshots = new SnapshotStore(Path.Combine(_dir, "snapshots"), 10).List();
        Assert.Equal(2, snapshots.Count);
        File.Delete(snapshots[0].Path);

        using (var recovered = EngineHost.Start(Options()))
        {
            Assert.Equal(expected, await recovered.Recovery.StateHash);
            Assert.True(recovered.Recovery.RecordsReplayed > 0);
            Assert.Equal(snapshots[1].Path, recovered.Recovery.SnapshotPath);
        }
        Assert.Equal(expected, ReplayWholeJournal());
    }

    [Fact]
    public async Task Graceful_shutdown_snapshots_so_restart_replays_nothing()
    {
        var expected = await DriveAndStopAsync(seed: 3, steps: 200);
        using var recovered = EngineHost.Start(Options());
        Assert.Equal(expected, await recovered.Recovery.StateHash);
        Assert.Equal(0, recovered.Recovery.RecordsReplayed);
    }

    [Fact]
    public async Task A_corrupt_newest_snapshot_is_skipped_and_the_journal_fills_the_gap()
    {
        string expected;
        using (var host = EngineHost.Start(Options()))
        {
            await Drive(host, seed: 4, steps: 200);
            await host.SnapshotNowAsync();
            await Drive(host, seed: 5, steps: 100);
            expected = await Hash(host);
        }
        var newest = new SnapshotStore(Path.Combine(_dir, "snapshots"), 10).List()[0].Path;
        var bytes = File.ReadAllBytes(newest);
        bytes[bytes.Length / 2] ^= 0x01;
        File.WriteAllBytes(newest, bytes);

        using var recovered = EngineHost.Start(Options());
        Assert.Equal(1, recovered.Recovery.SnapshotsSkipped);
        Assert.Equal(expected, await recovered.Recovery.StateHash);
    }

    [Fact]
    public async Task An_unusable_snapshot_whose_journal_was_trimmed_stops_recovery_instead_of_dropping_what_it_held()
    {
        var trimmed = Options() with { TrimJournal = true, MaxSnapshots = 1 };
        using (var host = EngineHost.Start(trimmed))
        {
            await Drive(host, seed: 11, steps: 300);
            await host.SnapshotNowAsync(); // the journal before it is deleted
            await Drive(host, seed: 12, steps: 50);
            host.DisposeWithoutSnapshot();
        }
        long firstKept;
        using (var journal = FileJournal.Open(Path.Combine(_dir, "journal")))
            firstKept = journal.ReadAfter(0).First().Sequence;
        Assert.True(firstKept > 1, "nothing was trimmed: the test would prove nothing");
        var snapshot = Assert.Single(new SnapshotStore(Path.Combine(_dir, "snapshots"), 10).List()).Path;
        var bytes = File.ReadAllBytes(snapshot);
        bytes[bytes.Length / 2] ^= 0x01;
        File.WriteAllBytes(snapshot, bytes);

        var gap = Assert.Throws<JournalGapException>(() => EngineHost.Start(trimmed));

        Assert.Equal((0, firstKept), (gap.StateEndsAt, gap.JournalContinuesAt));
        Assert.Contains($"inputs 1 to {firstKept - 1} are missing", gap.Message);
    }

    [Fact]
    public async Task A_journal_segment_missing_in_the_middle_stops_recovery()
    {
        using (var host = EngineHost.Start(Options()))
            await Drive(host, seed: 13, steps: 300);
        foreach (var file in Directory.GetFiles(Path.Combine(_dir, "snapshots"))) File.Delete(file);
        var segments = Directory.GetFiles(Path.Combine(_dir, "journal")).Order().ToArray();
        Assert.True(segments.Length >= 3, $"{segments.Length} segments");
        File.Delete(segments[1]);

        Assert.Throws<JournalGapException>(() => EngineHost.Start(Options()));
    }

    [Fact]
    public async Task A_snapshot_that_cannot_be_read_at_all_is_skipped_like_a_corrupt_one()
    {
        var expected = await DriveAndStopAsync(seed: 14, steps: 100);
        var snapshots = Path.Combine(_dir, "snapshots");
        var newest = new SnapshotStore(snapshots, 10).List()[0];
        // Named newer than any, but opening it fails (an I/O error rather than bad bytes).
        File.CreateSymbolicLink(Path.Combine(snapshots, $"snapshot-{newest.LastSequence + 1:D20}.snap"), Path.Combine(_dir, "nowhere"));

        using var recovered = EngineHost.Start(Options());
        Assert.Equal(1, recovered.Recovery.SnapshotsSkipped);
        Assert.Equal(expected, await recovered.Recovery.StateHash);
    }

    [Fact]
    public async Task Recovery_without_any_snapshot_replays_the_whole_journal()
    {
        var expected = await DriveAndStopAsync(seed: 6, steps: 150);
        foreach (var file in Directory.GetFiles(Path.Combine(_dir, "snapshots"))) File.Delete(file);
        Assert.Equal(expected, ReplayWholeJournal());
        using var recovered = EngineHost.Start(Options());
        Assert.Equal(expected, await recovered.Recovery.StateHash);
        Assert.Null(recovered.Recovery.SnapshotPath);
    }

    [Fact]
    public async Task A_torn_last_record_at_any_offset_loses_only_that_record()
    {
        long lastSequence;
        using (var host = EngineHost.Start(Options(fsync: false)))
        {
            await Drive(host, seed: 7, steps: 40);
            lastSequence = host.DurableSequence;
        }
        foreach (var file in Directory.GetFiles(Path.Combine(_dir, "snapshots"))) File.Delete(file);
        var segment = Directory.GetFiles(Path.Combine(_dir, "journal"), "*.seg").Max()!;
        var whole = File.ReadAllBytes(segment);
        string withoutLast;
        {
            // The state of every record but the last, computed from a copy cut at the record boundary.
            var engine = new TradingEngine(new EngineConfig());
            using (var journal = FileJournal.Open(Path.Combine(_dir, "journal")))
                foreach (var record in journal.ReadAfter(0))
                    if (record.Sequence < lastSequence) engine.Apply(InputCodec.Decode(record.Payload.Span), DiscardingSink.Instance);
            withoutLast = engine.StateHash();
        }
        var lastRecordStart = TempJournalDirectory.RecordsIn(whole).Last().Offset;
        for (var cut = lastRecordStart; cut < whole.Length; cut++)
        {
            File.WriteAllBytes(segment, whole[..cut]);
            using (var recovered = EngineHost.Start(Options()))
            {
                Assert.Equal(lastSequence - 1, recovered.Recovery.LastSequence);
                Assert.Equal(withoutLast, await recovered.Recovery.StateHash);
            }
            foreach (var file in Directory.GetFiles(Path.Combine(_dir, "snapshots"))) File.Delete(file);
        }
    }

    [Fact]
    public async Task Replies_wait_for_the_journal_and_queries_see_earlier_commands()
    {
        using var host = EngineHost.Start(Options(fsync: true));
        var user = new UserId(Guid.NewGuid());
        var created = host.SubmitAsync(new EngineInput { Kind = InputKind.CreateAccount, User = user });
        var balance = host.SubmitAsync(new EngineInput { Kind = InputKind.GetBalance, User = user });
        var reply = await created;
        Assert.True(reply.Accepted);
        Assert.True(host.DurableSequence >= reply.Sequence);
        Assert.Equal(5_000m, (await balance).Free.ToDecimal());
    }

    [Fact]
    public async Task A_released_reply_is_not_kept_by_the_host()
    {
        using var host = EngineHost.Start(Options());
        // Some before and after, so the reply is in the middle of whatever holds replies until released.
        for (var i = 0; i < 100; i++) await CreateAccount(host);
        var released = SubmitAndForget(host);
        for (var i = 0; i < 10; i++) await CreateAccount(host);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.False(released.IsAlive, "the host still references a reply it released");
    }

    [Fact]
    public async Task A_reply_awaited_on_the_engine_thread_resumes_there_once_durable()
    {
        using var host = EngineHost.Start(Options(fsync: true));
        var user = new UserId(Guid.NewGuid());
        // On the pool, without the test framework's synchronization context, as in ASP.NET Core.
        var (resumedOn, durable, reply, nextResumedOn, balance) = await Task.Run(async () =>
        {
            // The engine thread is held until the reply is awaited: a reply complete before its
            // await would simply continue on the awaiting thread.
            using var engineHeld = new ManualResetEventSlim();
            _ = host.ReadAsync(_ => engineHeld.Wait(TimeSpan.FromSeconds(10)));
            var awaiting = CreateAccountThenQuery();
            engineHeld.Set();
            return await awaiting;

            async Task<(string?, long, CommandReply, string?, CommandReply)> CreateAccountThenQuery()
            {
                var reply = await host.SubmitAsync(new EngineInput { Kind = InputKind.CreateAccount, User = user }, continueOnEngineThread: true);
                var resumedOn = Thread.CurrentThread.Name;
                var durable = host.DurableSequence;
                // Submitting from there is fine: the next input waits in the queue until this code returns.
                var balance = await host.SubmitAsync(new EngineInput { Kind = InputKind.GetBalance, User = user });
                return (resumedOn, durable, reply, Thread.CurrentThread.Name, balance);
            }
        });
        Assert.Equal("engine", resumedOn);
        Assert.True(durable >= reply.Sequence);
        Assert.NotEqual("engine", nextResumedOn);
        Assert.Equal(5_000m, balance.Free.ToDecimal());
    }

    [Fact]
    public async Task The_engine_thread_commits_the_journal_itself_and_a_snapshot_waits_for_it()
    {
        using (var host = EngineHost.Start(Options(fsync: true)))
        {
            for (var i = 0; i < 20; i++) await CreateAccount(host);
            Assert.Equal(host.AppendedSequence, host.DurableSequence);
            var snapshot = await host.SnapshotNowAsync(); // its Flush waits on another thread for the engine's commit
            Assert.Equal(20, snapshot!.Header.LastSequence);
        }
        using var restarted = EngineHost.Start(Options());
        Assert.Equal(20, restarted.Recovery.LastSequence);
    }

    [Fact]
    public async Task A_snapshot_waits_until_the_listener_has_recorded_its_events()
    {
        var listener = new RecordingListener();
        using var host = EngineHost.Start(Options(), listener: listener);
        await CreateAccount(host);
        await CreateAccount(host);

        var snapshot = host.SnapshotNowAsync();
        await Task.Delay(300);
        Assert.False(snapshot.IsCompleted);
        Assert.Empty(Directory.GetFiles(Path.Combine(_dir, "snapshots"), "*.snap"));

        listener.Recorded = listener.Delivered; // the recorder catches up
        var written = await snapshot.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(2, written!.Header.LastSequence);
    }

    [Fact]
    public async Task A_snapshot_gives_up_at_once_while_the_listener_is_failing()
    {
        var listener = new RecordingListener { Failing = true };
        using var host = EngineHost.Start(Options(), listener: listener);
        await CreateAccount(host);

        var snapshot = await host.SnapshotNowAsync().WaitAsync(TimeSpan.FromSeconds(5)); // not the 30 s a lagging listener gets
        Assert.Null(snapshot);
        Assert.Empty(Directory.GetFiles(Path.Combine(_dir, "snapshots"), "*.snap"));
    }

    [Fact]
    public async Task Answered_commands_reach_the_listener_before_their_replies_and_again_from_the_journal_at_recovery()
    {
        var user = new UserId(Guid.NewGuid());
        var opened = new TradeId(new UInt128(7, 7));
        var listener = new RecordingListener { Recorded = long.MaxValue };
        using (var host = EngineHost.Start(Options(), listener: listener))
        {
            host.SubmitTick(new AssetId(0), Price.FromDecimal(95_000m), Price.FromDecimal(95_001m));
            var created = await host.SubmitAsync(new EngineInput { Kind = InputKind.CreateAccount, User = user, OrderId = Guid.NewGuid(), IdempotencyKey = "a-1" });
            var answered = Assert.Single(listener.Commands); // by the time the reply is here
            Assert.Equal((created, "a-1", false), (answered.Command.Reply, answered.Command.Input.IdempotencyKey, answered.Replayed));
            Assert.True(created.Latency > TimeSpan.Zero);

            await host.SubmitAsync(new EngineInput { Kind = InputKind.GetBalance, User = user }); // no order id: a read, not an order
            await host.SubmitAsync(new EngineInput { Kind = InputKind.GetBalance, User = user, OrderId = Guid.NewGuid() });
            await host.SubmitAsync(new EngineInput
            {
                Kind = InputKind.CreateTrade, User = user, OrderId = Guid.NewGuid(), TradeId = opened, Symbol = "BTC_USDC",
                Direction = Direction.Long, Margin = 100m, Leverage = 5m, IdempotencyKey = "t-1",
            });
            var rejected = await host.SubmitAsync(new EngineInput { Kind = InputKind.CloseTrade, User = user, OrderId = Guid.NewGuid(), TradeId = new TradeId(1) });
            Assert.False(rejected.Accepted);
            Assert.Equal([InputKind.CreateAccount, InputKind.GetBalance, InputKind.CreateTrade, InputKind.CloseTrade],
                listener.Commands.Select(c => c.Command.Input.Kind));
        }
        var live = listener.Commands;
        foreach (var snapshot in Directory.GetFiles(Path.Combine(_dir, "snapshots"))) File.Delete(snapshot);

        var afterCrash = new RecordingListener { Recorded = long.MaxValue };
        using (EngineHost.Start(Options(), listener: afterCrash))
        {
            // The journaled ones (not the query), each with its key and outcome, and no latency: nobody timed them.
            var replayed = afterCrash.Commands;
            Assert.All(replayed, c => Assert.True(c.Replayed));
            Assert.Equal(live.Where(c => !c.Command.Input.IsQuery).Select(c => (c.Command.Input.OrderId, c.Command.Input.IdempotencyKey, c.Command.Reply with { Latency = default })),
                replayed.Select(c => (c.Command.Input.OrderId, c.Command.Input.IdempotencyKey, c.Command.Reply)));
            Assert.All(replayed, c => Assert.Equal(TimeSpan.Zero, c.Command.Reply.Latency));
        }

        // A listener that holds the orders up to the trade's already gets only the later ones.
        var tradeSequence = live.Single(c => c.Command.Input.Kind == InputKind.CreateTrade).Command.Reply.Sequence;
        foreach (var snapshot in Directory.GetFiles(Path.Combine(_dir, "snapshots"))) File.Delete(snapshot);
        var holdingSome = new RecordingListener { Recorded = long.MaxValue, RecordedCommands = tradeSequence };
        using (EngineHost.Start(Options(), listener: holdingSome))
            Assert.Equal([InputKind.CloseTrade], holdingSome.Commands.Select(c => c.Command.Input.Kind));
    }

    [Fact]
    public async Task Recovery_refuses_a_listener_holding_orders_past_the_end_of_the_folder_and_hands_it_nothing()
    {
        using (var host = EngineHost.Start(Options()))
            await CreateAccount(host);
        var snapshots = Directory.GetFiles(Path.Combine(_dir, "snapshots"));

        var fromAnotherFolder = new RecordingListener { Recorded = long.MaxValue, RecordedCommands = 1_000 };
        var refused = Assert.Throws<DataFolderMismatchException>(() => EngineHost.Start(Options(), listener: fromAnotherFolder));

        Assert.Contains("holds orders up to input 1000", refused.Message);
        Assert.Empty(fromAnotherFolder.Commands);
        Assert.Equal(snapshots, Directory.GetFiles(Path.Combine(_dir, "snapshots")));
        using var again = EngineHost.Start(Options()); // the folder itself is untouched and opens
        Assert.Equal(1, again.Recovery.LastSequence);
    }

    [Fact]
    public async Task A_host_stopped_without_its_final_snapshot_leaves_the_snapshots_as_they_were()
    {
        var host = EngineHost.Start(Options());
        await CreateAccount(host);
        host.DisposeWithoutSnapshot();
        Assert.Empty(Directory.GetFiles(Path.Combine(_dir, "snapshots"), "*.snap"));

        using var restarted = EngineHost.Start(Options()); // the journal still has the account
        Assert.Equal((1, 1), (restarted.Recovery.RecordsReplayed, restarted.Recovery.LastSequence));
    }

    [Fact]
    public async Task A_snapshot_waits_until_the_listener_has_flushed_the_answered_commands()
    {
        var flushed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var listener = new RecordingListener { Recorded = long.MaxValue, Flush = flushed.Task };
        using var host = EngineHost.Start(Options(), listener: listener);
        // Rejected: no events, so only the flush says the listener holds its order.
        await host.SubmitAsync(new EngineInput { Kind = InputKind.CloseTrade, User = new UserId(Guid.NewGuid()), OrderId = Guid.NewGuid(), TradeId = new TradeId(1) });

        var snapshot = host.SnapshotNowAsync();
        await Task.Delay(300);
        Assert.False(snapshot.IsCompleted);
        Assert.Empty(Directory.GetFiles(Path.Combine(_dir, "snapshots"), "*.snap"));

        flushed.SetResult();
        var written = await snapshot.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1, written!.Header.LastSequence);
        Assert.Equal(1, listener.CommandsBeforeFlush); // asked after the command was handed over, not before
    }

    /// <summary>A listener whose durable progress the test sets by hand.</summary>
    private sealed class RecordingListener : IEngineEventListener
    {
        private long _delivered;
        private readonly List<(AnsweredCommand Command, bool Replayed)> _commands = [];

        public List<(AnsweredCommand Command, bool Replayed)> Commands
        {
            get { lock (_commands) return [.. _commands]; }
        }

        public Task Flush { get; init; } = Task.CompletedTask;
        public long RecordedCommands { get; init; }

        long IEngineEventListener.RecordedCommandSequence => RecordedCommands;

        public void OnCommands(IReadOnlyList<AnsweredCommand> commands, bool replayed)
        {
            lock (_commands) _commands.AddRange(commands.Select(c => (c, replayed)));
        }

        public int? CommandsBeforeFlush { get; private set; }

        Task IEngineEventListener.FlushAsync()
        {
            CommandsBeforeFlush ??= Commands.Count;
            return Flush;
        }

        public long Delivered => Volatile.Read(ref _delivered);
        public long Recorded { get; set; }
        public bool Failing { get; set; }

        long IEngineEventListener.RecordedEventSequence => Recorded;
        bool IEngineEventListener.IsFailing => Failing;

        public void OnEvents(IReadOnlyList<object> events, bool replayed)
        {
            foreach (var e in events)
                if (e is BalanceChanged b) Volatile.Write(ref _delivered, Math.Max(Delivered, b.Header.EventSequence));
        }
    }

    private static Task<CommandReply> CreateAccount(EngineHost host) =>
        host.SubmitAsync(new EngineInput { Kind = InputKind.CreateAccount, User = new UserId(Guid.NewGuid()) });

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference SubmitAndForget(EngineHost host)
    {
        var reply = CreateAccount(host);
        Assert.True(reply.Result.Accepted);
        return new WeakReference(reply);
    }
}
