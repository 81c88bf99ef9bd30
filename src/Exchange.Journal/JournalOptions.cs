namespace Exchange.Journal;

public sealed record JournalOptions
{
    public const long DefaultSegmentSize = 64L << 20;

    /// <summary>A segment is closed and a new one started before a record would take it past this.</summary>
    public long SegmentSize { get; init; } = DefaultSegmentSize;

    /// <summary>False only for the no-fsync comparison run: "durable" then means "in the OS page cache".</summary>
    public bool FsyncEnabled { get; init; } = true;

    /// <summary>An append commits what is pending first once this much is, so a long run of appends cannot exhaust memory.</summary>
    public int MaxPendingBytes { get; init; } = 64 << 20;

    public static JournalOptions Default { get; } = new();
}

/// <summary>What <see cref="FileJournal.Open"/> found and repaired.</summary>
public sealed record JournalRecoveryInfo(
    int Segments,
    long Records,
    long LastSequence,
    string? TruncatedSegment,
    long TruncatedAtOffset,
    long TruncatedBytes,
    TimeSpan Elapsed)
{
    public bool WasTruncated => TruncatedSegment is not null;
}

/// <summary>One journal record. <see cref="Payload"/> is only valid until the reader moves on.</summary>
public readonly struct JournalRecord(long sequence, ReadOnlyMemory<byte> payload)
{
    public long Sequence { get; } = sequence;
    public ReadOnlyMemory<byte> Payload { get; } = payload;
}

/// <summary>
/// The journal does not continue the state recovery starts from: the inputs between are gone (a
/// snapshot that was unusable after the journal before it had been trimmed, a segment deleted, a
/// folder pieced together from copies). Replaying on would silently drop accounts and trades.
/// </summary>
public sealed class JournalGapException(long stateEndsAt, long journalContinuesAt)
    : IOException($"The journal continues at input {journalContinuesAt}, but the state before it ends at input {stateEndsAt}: " +
        $"inputs {stateEndsAt + 1} to {journalContinuesAt - 1} are missing. Put back the snapshot or journal segments that hold them; " +
        "the exchange does not start without them")
{
    public long StateEndsAt { get; } = stateEndsAt;
    public long JournalContinuesAt { get; } = journalContinuesAt;
}

/// <summary>
/// A record that is bad where it cannot be a torn tail: acknowledged data may be damaged, so
/// the journal refuses to open rather than skip it.
/// </summary>
public sealed class JournalCorruptException(string segmentPath, long offset, string problem, bool mayBeUnacknowledgedTail = false, long lastGoodSequence = 0)
    : IOException($"Journal segment {segmentPath} is corrupt at offset {offset}: {problem}")
{
    public string SegmentPath { get; } = segmentPath;
    public long Offset { get; } = offset;

    /// <summary>The sequence of the last whole record before the damage (in this segment or an earlier one); 0 if none.</summary>
    public long LastGoodSequence { get; } = lastGoodSequence;

    /// <summary>
    /// A bad record in the last segment with valid records after it: damage to acknowledged
    /// records, or the last batch, never acknowledged, whose pages reached the disk out of order
    /// in a power cut. Nothing on the disk tells the two apart; an operator can
    /// (<see cref="FileJournal.CutDamagedTail"/>).
    /// </summary>
    public bool MayBeUnacknowledgedTail { get; } = mayBeUnacknowledgedTail;
}
