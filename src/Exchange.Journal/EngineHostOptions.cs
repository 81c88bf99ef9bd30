using Exchange.Engine;

namespace Exchange.Journal;

public sealed record EngineHostOptions
{
    /// <summary>Holds <c>journal/</c> and <c>snapshots/</c>.</summary>
    public required string DataDirectory { get; init; }

    public EngineConfig Engine { get; init; } = new();
    public JournalOptions Journal { get; init; } = JournalOptions.Default;

    /// <summary>ENGINE_SNAPSHOT_INTERVAL: ms between snapshots; 0 turns the timer off.</summary>
    public long SnapshotIntervalMs { get; init; } = 15_000;

    /// <summary>ENGINE_MAX_SNAPSHOTS.</summary>
    public int MaxSnapshots { get; init; } = 10;

    /// <summary>Delete journal segments that the oldest kept snapshot covers. Off for tests that re-read the whole log.</summary>
    public bool TrimJournal { get; init; } = true;

    /// <summary>Most inputs applied before the engine thread looks at releases and timers again.</summary>
    public int MaxBatch { get; init; } = 4096;
}

/// <summary>What recovery found and did at start.</summary>
/// <param name="StateHash">
/// The state hash as recovery left it, computed on the thread pool from a copy of the state:
/// at a million trades hashing takes a third of a second, and trading need not wait for a
/// number that is only logged and compared.
/// </param>
/// <param name="Phases">Where <see cref="Duration"/> went.</param>
public sealed record RecoveryReport(
    string? SnapshotPath,
    long SnapshotSequence,
    int SnapshotsSkipped,
    long RecordsReplayed,
    long LastSequence,
    long JournalBytesCut,
    TimeSpan Duration,
    Task<string> StateHash,
    RecoveryPhases Phases);

/// <summary>
/// The parts of a recovery: reading and verifying the snapshot, rebuilding the engine from it,
/// waiting for the journal's check (which runs on another core beside the first two), and
/// replaying the journal after the snapshot.
/// </summary>
public sealed record RecoveryPhases(TimeSpan SnapshotLoad, TimeSpan Restore, TimeSpan JournalWait, TimeSpan Replay)
{
    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"snapshot {SnapshotLoad.TotalMilliseconds:F0} ms, restore {Restore.TotalMilliseconds:F0} ms, journal check wait {JournalWait.TotalMilliseconds:F0} ms, replay {Replay.TotalMilliseconds:F0} ms");
}

/// <summary>
/// A trader's command (one with an order id) and the engine's answer: what an audit trail of
/// orders is made from. <see cref="CommandReply.Latency"/> is zero for a replayed one.
/// </summary>
public readonly record struct AnsweredCommand(EngineInput Input, CommandReply Reply);

/// <summary>Receives the engine's events and answered commands once the inputs that caused them are durable, in order.</summary>
public interface IEngineEventListener
{
    /// <param name="replayed">true for events re-created by recovery (they may have been delivered before the restart).</param>
    void OnEvents(IReadOnlyList<object> events, bool replayed);

    /// <summary>
    /// The commands that carry an order id, as they are answered (queries included), and at
    /// recovery the journaled ones replayed (<paramref name="replayed"/>; they may have been
    /// delivered before the restart, or lost with it). Called before the replies complete;
    /// the list is reused, so copy what you keep.
    /// </summary>
    void OnCommands(IReadOnlyList<AnsweredCommand> commands, bool replayed) { }

    /// <summary>
    /// The input sequence up to which the listener holds every answered command already, read
    /// once as recovery starts: it hands over only the replayed commands after it.
    /// </summary>
    long RecordedCommandSequence => 0;

    /// <summary>
    /// The highest event sequence the listener has made durable itself. A snapshot is written
    /// only once this reaches the snapshot's events, because recovery re-creates only the
    /// events after the snapshot: anything earlier must already be safe with the listener.
    /// </summary>
    long RecordedEventSequence => long.MaxValue;

    /// <summary>
    /// Completes once everything handed over before the call (commands included, which have no
    /// event sequence) is durable with the listener; a snapshot waits for it for the same reason.
    /// </summary>
    Task FlushAsync() => Task.CompletedTask;

    /// <summary>
    /// True while the listener cannot make anything durable (its database refuses writes): a
    /// snapshot waiting for it then gives up at once rather than after its 30 s, which matters
    /// most at shutdown. Recovery replays a little more journal the next time; nothing is lost.
    /// </summary>
    bool IsFailing => false;
}
