using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using Exchange.Engine;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Exchange.Journal;

/// <summary>
/// Runs the engine on one dedicated thread over the durable journal (DESIGN §3).
/// Callers hand inputs over through a queue; the engine thread stamps each state-changing
/// input with the next sequence and a timestamp, appends it to the journal and applies it at
/// once, but its reply and events are held back until the record is on disk: after each run
/// of inputs the thread writes and fsyncs them (one group commit) and then releases them.
/// A crash can therefore lose only inputs nobody heard back about, and recovery
/// (newest good snapshot + journal replay) rebuilds exactly the acknowledged state.
/// </summary>
public sealed partial class EngineHost : IDisposable
{
    private readonly EngineHostOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IEngineEventListener? _listener;
    private readonly TradingEngine _engine;
    private readonly FileJournal _journal;
    private readonly SnapshotStore _snapshots;
    private readonly Thread _thread;

    private readonly ConcurrentQueue<Pending> _inbox = new();
    // The engine thread sleeps on _wake only after announcing it in _sleeping, so a producer
    // signals (a futex call) only when the thread may really be asleep, not on every input; no
    // spinning before sleeping either, as a spinning engine thread takes a core from the very
    // request handlers it waits for on a small machine.
    private readonly ManualResetEventSlim _wake = new(false, spinCount: 0);
    private int _sleeping;
    private readonly ConcurrentQueue<Output> _held = new();
    // On the engine thread (or Dispose's, once it has stopped): the output taken from _held that
    // is not durable yet, and a reused list.
    private Output? _notDurable;
    private readonly List<Output> _released = [];
    private readonly List<AnsweredCommand> _answered = [];
    private long _releasedThrough; // every output at or below this sequence has gone to the listener and its caller
    private readonly CollectingSink _sink = new();
    private readonly ArrayBufferWriter<byte> _encoded = new(256);

    private readonly EngineMetrics _metrics;
    private readonly long _startedAtMs;
    private string? _engineSchedStat;
    private long _lastSnapshotAtMs;
    private long _sequence;
    private long _lastTimestampMs;
    private long _nextSnapshotAtMs;
    private Task _snapshotWrite = Task.CompletedTask;
    private readonly Lock _snapshotGate = new();
    private bool _snapshotsStopped; // under _snapshotGate
    private TradeView[]? _slotBuffer; // an earlier image's trade array, free for the next snapshot to copy into
    private volatile bool _stopping;
    private Exception? _fault;
    private int _exited; // the engine thread has left its loop: nothing in the inbox will be taken
    private int _disposed;

    private EngineHost(EngineHostOptions options, TimeProvider time, ILogger logger, IEngineEventListener? listener,
        TradingEngine engine, FileJournal journal, SnapshotStore snapshots, RecoveryReport recovery)
    {
        _options = options;
        _time = time;
        _logger = logger;
        _listener = listener;
        _engine = engine;
        _journal = journal;
        _snapshots = snapshots;
        Recovery = recovery;
        _sequence = _releasedThrough = Math.Max(engine.LastSequence, journal.LastSequence);
        _lastTimestampMs = _startedAtMs = NowMs();
        _nextSnapshotAtMs = _lastTimestampMs + options.SnapshotIntervalMs;
        _metrics = new EngineMetrics(this, engine);
        journal.BatchWritten = _metrics.JournalBatchWritten;
        _thread = new Thread(Run) { IsBackground = true, Name = "engine" };
        _thread.Start();
    }

    public RecoveryReport Recovery { get; }
    public EngineConfig Config => _engine.Config;

    /// <summary>Highest sequence whose record is on disk: everything up to it has been (or is being) acknowledged.</summary>
    public long DurableSequence => _journal.DurableSequence;

    public SnapshotReport? LastSnapshot { get; private set; }

    /// <summary>Highest sequence handed to the journal (durable or not yet).</summary>
    public long AppendedSequence => Volatile.Read(ref _sequence);

    /// <summary>The engine thread's time on a CPU and waiting for one, from the kernel (Linux); null elsewhere.</summary>
    public (TimeSpan OnCpu, TimeSpan Waiting)? EngineThreadTimes =>
        Volatile.Read(ref _engineSchedStat) is { } path ? ThreadScheduling.ReadSchedStat(path) : null;

    /// <summary>Why the engine thread stopped taking input, if it failed (a journal write that failed, say); null while it runs.</summary>
    public Exception? Fault => Volatile.Read(ref _fault);

    /// <summary>Raised once, on a pool thread, when the engine thread fails (<see cref="Fault"/> is set by then).</summary>
    public event Action<Exception>? Failed;

    public double LastSnapshotAgeSeconds => (NowMs() - Math.Max(Volatile.Read(ref _lastSnapshotAtMs), _startedAtMs)) / 1000.0;

    /// <summary>
    /// Submits a trader command or query. The host sets its sequence and timestamp; the caller
    /// sets everything else (ids included). Completes with the engine's reply once the command
    /// (and, for a query, everything before it) is durable.
    /// </summary>
    /// <param name="continueOnEngineThread">
    /// The awaiting code resumes on the engine thread the moment the reply is durable, instead of
    /// waiting for a pool thread to wake (the order path sends its HTTP reply this way). Only for
    /// code that finishes in microseconds and never blocks or waits for the engine: every other
    /// command waits meanwhile.
    /// </param>
    /// <exception cref="ArgumentException">The input cannot be journaled (a symbol over <see cref="InputCodec.MaxSymbolBytes"/>): refused here, on the caller's thread, not on the engine's.</exception>
    /// <exception cref="EngineStoppedException">The engine is shutting down or has failed.</exception>
    public Task<CommandReply> SubmitAsync(EngineInput input, bool continueOnEngineThread = false)
    {
        InputCodec.ThrowIfUnencodable(in input);
        var done = new TaskCompletionSource<CommandReply>(
            continueOnEngineThread ? TaskCreationOptions.None : TaskCreationOptions.RunContinuationsAsynchronously);
        Enqueue(new Pending(input, done, null));
        return done.Task;
    }

    /// <summary>Appends a price tick to the log; its effects (triggers fired) are published as events.</summary>
    public void SubmitTick(AssetId asset, Price bid, Price ask) =>
        Enqueue(new Pending(new EngineInput { Kind = InputKind.PriceTick, Asset = asset, Bid = bid, Ask = ask }, null, null));

    /// <summary>Runs <paramref name="read"/> on the engine thread between inputs (for reads of the live state).</summary>
    public Task<T> ReadAsync<T>(Func<TradingEngine, T> read)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Enqueue(new Pending(default, null, engine =>
        {
            try { done.SetResult(read(engine)); }
            catch (Exception e) { done.SetException(e); }
        }, e => done.TrySetException(e)));
        return done.Task;
    }

    /// <summary>
    /// Takes a snapshot now and waits until it is on disk; null when it was skipped because the
    /// event listener had not recorded its events (behind for 30 s, or failing).
    /// </summary>
    public async Task<SnapshotReport?> SnapshotNowAsync()
    {
        var before = LastSnapshot;
        var write = await ReadAsync(_ => StartSnapshot()).ConfigureAwait(false);
        await write.ConfigureAwait(false);
        return ReferenceEquals(LastSnapshot, before) ? null : LastSnapshot;
    }

    private void Enqueue(Pending pending)
    {
        if (_stopping) throw Stopped();
        _inbox.Enqueue(pending with { EnqueuedAt = Stopwatch.GetTimestamp() });
        // The thread may have left after the check above, and drained the inbox already: nobody else would answer this.
        if (Volatile.Read(ref _exited) == 1) FailInbox(Stopped());
        Wake();
    }

    private EngineStoppedException Stopped() => Fault is { } fault
        ? new EngineStoppedException($"The engine thread failed: {fault.Message}", fault)
        : new EngineStoppedException("The engine is shutting down.", null);

    private void Wake()
    {
        if (Interlocked.CompareExchange(ref _sleeping, 0, 1) == 1) _wake.Set();
    }

    /// <summary>Sleeps until an input arrives (or 100 ms pass); returns at once if one came in meanwhile.</summary>
    private void Sleep()
    {
        // Announce first, then look: a producer that enqueues after the look sees the flag and signals.
        Interlocked.Exchange(ref _sleeping, 1);
        if (_inbox.IsEmpty && !_stopping) _wake.Wait(TimeSpan.FromMilliseconds(100));
        Interlocked.Exchange(ref _sleeping, 0);
        _wake.Reset(); // a signal that came after waking is stale: the loop drains the inbox anyway
    }

    private long NowMs() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private void Run()
    {
        ThreadScheduling.RequestShortSlice();
        Volatile.Write(ref _engineSchedStat, ThreadScheduling.SchedStatPathOfThisThread());
        Pending pending = default;
        try
        {
            var batch = 0;
            while (true)
            {
                if (_inbox.TryDequeue(out pending))
                {
                    Process(pending);
                    if (++batch < _options.MaxBatch) continue;
                }
                batch = 0;
                ReleaseDurable(_journal.Commit());
                MaybeSnapshot();
                if (_inbox.IsEmpty)
                {
                    if (_stopping) return;
                    Sleep();
                }
            }
        }
        catch (Exception e)
        {
            _logger.LogCritical(e, "The engine thread failed; no further input is accepted");
            Volatile.Write(ref _fault, e);
            _stopping = true;
            var stopped = Stopped();
            pending.Abandon(stopped); // the input it failed on, if any (completing twice is harmless)
            FailHeld(stopped);
            if (Failed is { } failed) ThreadPool.QueueUserWorkItem(_ => failed(e));
        }
        finally
        {
            Interlocked.Exchange(ref _exited, 1);
            FailInbox(Stopped()); // what came in after the last look
        }
    }

    private void Process(Pending pending)
    {
        if (pending.Read is not null)
        {
            pending.Read(_engine);
            return;
        }
        var input = pending.Input;
        var takenAt = Stopwatch.GetTimestamp();
        if (pending.Done is not null) _metrics.Taken(Stopwatch.GetElapsedTime(pending.EnqueuedAt, takenAt));
        _sink.Reset();
        long barrier;
        if (input.IsQuery)
        {
            input.TimestampMs = _lastTimestampMs;
            _engine.Apply(in input, _sink);
            barrier = _sequence; // a query may only see durable state
        }
        else
        {
            _lastTimestampMs = Math.Max(_lastTimestampMs, NowMs());
            input.Sequence = barrier = Interlocked.Increment(ref _sequence);
            input.TimestampMs = _lastTimestampMs;
            _encoded.ResetWrittenCount();
            InputCodec.Encode(in input, _encoded);
            _journal.Append(input.Sequence, _encoded.WrittenSpan);
            _engine.Apply(in input, _sink);
        }
        _metrics.Applied(input.Kind);
        if (pending.Done is null && _sink.Events is null) return;
        _held.Enqueue(new Output(barrier, _sink.Reply, _sink.Events, pending.Done, input, pending.EnqueuedAt, takenAt));
    }

    /// <summary>
    /// Hands out replies and events of everything at or below <paramref name="durable"/>, in
    /// order. Answered commands and events go to the listener before the replies complete, so
    /// a client that reads its order or history right after its reply finds the recorder
    /// already holding them.
    /// </summary>
    private void ReleaseDurable(long durable)
    {
        List<object>? events = null;
        var releasedAt = Stopwatch.GetTimestamp();
        while (TakeReleasable(durable, out var output))
        {
            if (output.Done is not null)
            {
                output = output with { Reply = output.Reply with { Latency = Stopwatch.GetElapsedTime(output.EnqueuedAt, releasedAt) } };
                if (output.Input.OrderId != Guid.Empty) _answered.Add(new AnsweredCommand(output.Input, output.Reply));
            }
            _released.Add(output);
            if (output.Events is not null)
            {
                (events ??= []).AddRange(output.Events);
                foreach (var e in output.Events)
                    if (e is TradeClosed closed) _metrics.Closed(closed.Reason);
            }
        }
        if (_answered.Count > 0)
        {
            _listener?.OnCommands(_answered, replayed: false);
            _answered.Clear();
        }
        if (events is not null) _listener?.OnEvents(events, replayed: false);
        foreach (var output in _released)
        {
            if (output.Done is null) continue;
            _metrics.Released(Stopwatch.GetElapsedTime(output.TakenAt, releasedAt));
            output.Done.TrySetResult(output.Reply); // may run a caller's continuation right here
        }
        _released.Clear();
        if (durable > _releasedThrough) Volatile.Write(ref _releasedThrough, durable);
    }

    /// <summary>
    /// The next held output if it is durable. Not <c>TryPeek</c> then <c>TryDequeue</c>: a peek
    /// marks the queue's block as observed, and from then on dequeues leave their slots filled,
    /// so every reply, event and waiter stayed reachable until the block (growing to a million
    /// entries) was used up: minutes of garbage the collector had to copy (docs/benchmarks.md,
    /// eleventh pass).
    /// </summary>
    private bool TakeReleasable(long durable, out Output output)
    {
        if (_notDurable is { } waiting)
        {
            output = waiting;
            _notDurable = null;
        }
        else if (!_held.TryDequeue(out output))
        {
            return false;
        }
        if (output.Barrier <= durable) return true;
        _notDurable = output;
        return false;
    }

    private void FailHeld(Exception e)
    {
        foreach (var output in _released) output.Done?.TrySetException(e); // taken, not yet answered
        _released.Clear();
        while (TakeReleasable(long.MaxValue, out var output)) output.Done?.TrySetException(e);
    }

    private void FailInbox(Exception e)
    {
        while (_inbox.TryDequeue(out var pending)) pending.Abandon(e);
    }

    /// <summary>
    /// Stops without the final snapshot: for a start refused after recovery because the listener
    /// does not belong to this data folder, so it cannot vouch for what a snapshot would cover.
    /// </summary>
    public void DisposeWithoutSnapshot()
    {
        _noFinalSnapshot = true;
        Dispose();
    }

    private volatile bool _noFinalSnapshot;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _stopping = true;
        Interlocked.Exchange(ref _sleeping, 0);
        _wake.Set();
        _thread.Join();
        try
        {
            // After a failure the state may be half-way through an input: never snapshot it (recovery
            // rebuilds from the journal), and every waiting caller has been told already.
            if (Fault is null)
            {
                ReleaseDurable(_journal.Commit()); // the engine thread has stopped: this one commits now
                _snapshotWrite.Wait();
                if (!_noFinalSnapshot && _engine.LastSequence > (LastSnapshot?.Header.LastSequence ?? Recovery.SnapshotSequence))
                    StartSnapshot().Wait();
            }
        }
        finally
        {
            // No snapshot write, prune or journal trim may start once the journal's lock is let
            // go: another process may be recovering from this folder by then. One under way finishes first.
            lock (_snapshotGate) _snapshotsStopped = true;
            if (Fault is null) _journal.Dispose();
            else _journal.Abandon(); // what was not durable at the failure was never acknowledged
            _wake.Dispose();
            _metrics.Dispose();
        }
    }

    /// <summary>An input (answered through <c>Done</c> if anyone waits) or a read of the live state (<c>Read</c>; <c>Fail</c> if it never runs).</summary>
    /// <param name="EnqueuedAt">Set by <see cref="Enqueue"/> (a <see cref="Stopwatch"/> timestamp).</param>
    private readonly record struct Pending(EngineInput Input, TaskCompletionSource<CommandReply>? Done,
        Action<TradingEngine>? Read, Action<Exception>? Fail = null, long EnqueuedAt = 0)
    {
        public void Abandon(Exception e)
        {
            Done?.TrySetException(e);
            Fail?.Invoke(e);
        }
    }

    /// <param name="EnqueuedAt">When it was submitted, and <paramref name="TakenAt"/> when the engine thread took it (<see cref="Stopwatch"/> timestamps).</param>
    private readonly record struct Output(long Barrier, CommandReply Reply, List<object>? Events, TaskCompletionSource<CommandReply>? Done,
        EngineInput Input, long EnqueuedAt, long TakenAt);
}

/// <summary>The engine takes no input: it is shutting down, or its thread failed (<see cref="Exception.InnerException"/> says why).</summary>
public sealed class EngineStoppedException(string message, Exception? cause) : InvalidOperationException(message, cause);

/// <summary>
/// The engine's listener (the audit database) has recorded further than the data folder reaches:
/// they do not belong together. <paramref name="found"/> says how far each reaches; the rest of
/// the message, what happened and what to do, is the same for every such finding.
/// </summary>
public sealed class DataFolderMismatchException(string found) : InvalidOperationException(
    found + ": the data folder was reset, replaced or restored from an older copy while the database was kept. " +
    "Start with the newest copy of the data folder that belongs to this database, or with a new database.");
