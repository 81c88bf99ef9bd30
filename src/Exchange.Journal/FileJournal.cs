namespace Exchange.Journal;

/// <summary>
/// The embedded log: an append-only journal of segment files with group commit.
/// One producer (the engine thread) calls <see cref="Append"/>, which only copies the record
/// into a pending buffer, and <see cref="Commit"/> after a run of appends, which writes
/// everything pending with one call and one fsync and then publishes
/// <see cref="DurableSequence"/>, so replies are released only for records that are on disk.
/// There is no writer thread: a command crosses no thread between the engine and the disk
/// (docs/benchmarks.md, HTTP API, fourteenth pass). Other threads may read, wait in
/// <see cref="Flush"/> and delete old segments.
/// </summary>
public sealed partial class FileJournal : IDisposable
{
    private readonly string directory;
    private readonly JournalOptions options;
    private readonly FileStream directoryLock;
    private readonly Lock segmentsLock = new();
    private Segment[] segments;

    // Guarded by gate: what is appended but not yet committed, and what other threads may ask about.
    private readonly object gate = new();
    private byte[] pending = new byte[64 << 10];
    private int pendingLength;
    private long lastAppended;
    private bool disposed;
    private Exception? fault;

    private long durableSequence;

    private FileJournal(string directory, JournalOptions options, FileStream directoryLock,
        List<Segment> segments, JournalRecoveryInfo recovery)
    {
        this.directory = directory;
        this.options = options;
        this.directoryLock = directoryLock;
        this.segments = [.. segments];
        Recovery = recovery;
        lastAppended = durableSequence = recovery.LastSequence;
        OpenActiveSegment();
    }

    /// <summary>
    /// Opens (or creates) the journal in <paramref name="directory"/>: checks every record,
    /// cuts a torn tail off the last segment, and throws <see cref="JournalCorruptException"/>
    /// for damage anywhere else, or <see cref="JournalInUseException"/> while another process has it open.
    /// </summary>
    public static FileJournal Open(string directory, JournalOptions? options = null)
    {
        options ??= JournalOptions.Default;
        ArgumentOutOfRangeException.ThrowIfLessThan(options.SegmentSize, RecordFormat.HeaderLength + 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxPendingBytes, 1, nameof(options));
        DirectorySync.Create(directory, sync: options.FsyncEnabled);
        // An exclusive lock: two processes appending to one journal would interleave garbage.
        var directoryLock = ExclusiveLockFile.TryTake(Path.Combine(directory, "journal.lock"))
            ?? throw new JournalInUseException(directory);
        try
        {
            var (found, recovery) = JournalRecovery.Run(directory, options.FsyncEnabled);
            return new FileJournal(directory, options, directoryLock, found, recovery);
        }
        catch
        {
            directoryLock.Dispose();
            throw;
        }
    }

    public JournalRecoveryInfo Recovery { get; }

    /// <summary>The highest sequence appended (durable or still pending); 0 when empty.</summary>
    public long LastSequence
    {
        get { lock (gate) return lastAppended; }
    }

    /// <summary>The highest sequence known to be on disk (fsynced, unless fsync is off).</summary>
    public long DurableSequence => Volatile.Read(ref durableSequence);

    /// <summary>
    /// Queues one record; durable after the next <see cref="Commit"/>. Sequences must increase.
    /// Commits first when <see cref="JournalOptions.MaxPendingBytes"/> are already pending.
    /// </summary>
    public void Append(long sequence, ReadOnlySpan<byte> payload)
    {
        if (payload.Length > RecordFormat.MaxPayloadLength)
            throw new ArgumentException($"Payload of {payload.Length} bytes is over the {RecordFormat.MaxPayloadLength} limit.", nameof(payload));
        var recordLength = RecordFormat.HeaderLength + payload.Length;
        if (pendingLength > 0 && pendingLength + recordLength > options.MaxPendingBytes) Commit();
        lock (gate)
        {
            ThrowIfUnusable();
            if (sequence <= lastAppended)
                throw new ArgumentOutOfRangeException(nameof(sequence), sequence, $"Sequence must be above {lastAppended}.");
            if (pending.Length - pendingLength < recordLength)
                Array.Resize(ref pending, Math.Max(pending.Length * 2, pendingLength + recordLength));
            var record = pending.AsSpan(pendingLength, recordLength);
            RecordFormat.WriteHeader(record, payload.Length, sequence);
            payload.CopyTo(record[RecordFormat.HeaderLength..]);
            pendingLength += recordLength;
            lastAppended = sequence;
        }
    }

    /// <summary>
    /// For threads other than the producer: blocks until everything appended so far is durable,
    /// that is until the producer's next <see cref="Commit"/> (or <see cref="Dispose"/>). The
    /// producer itself calls <see cref="Commit"/>. Throws once the journal is abandoned (or
    /// closed) with the records still pending: they will never be durable.
    /// </summary>
    public void Flush()
    {
        lock (gate)
        {
            var target = lastAppended;
            while (Volatile.Read(ref durableSequence) < target)
            {
                if (fault is not null) throw CommitFailed();
                ObjectDisposedException.ThrowIf(disposed, this);
                Monitor.Wait(gate);
            }
        }
    }

    /// <summary>
    /// The durable records after <paramref name="sequence"/>, in order, as of this call.
    /// Each payload is a slice of a reused buffer: copy or decode it before moving on.
    /// Do not delete segments while a read is under way.
    /// </summary>
    public IEnumerable<JournalRecord> ReadAfter(long sequence)
    {
        var limit = DurableSequence;
        var snapshot = Volatile.Read(ref segments);
        return JournalReader.Read(snapshot, sequence, limit);
    }

    /// <summary>
    /// Deletes whole segments whose records are all at or below <paramref name="sequence"/>
    /// (e.g. covered by the oldest kept snapshot). The segment being written is never deleted.
    /// Returns how many were deleted.
    /// </summary>
    public int DeleteSegmentsBefore(long sequence)
    {
        lock (segmentsLock)
        {
            var current = segments;
            var deletable = 0;
            while (deletable < current.Length - 1 && current[deletable + 1].FirstSequence - 1 <= sequence)
                deletable++;
            for (var i = 0; i < deletable; i++)
                File.Delete(current[i].Path);
            if (deletable > 0) Volatile.Write(ref segments, current[deletable..]);
            return deletable;
        }
    }

    /// <summary>Commits what is pending, then closes the files. Call it once the producer has stopped.</summary>
    public void Dispose() => Close(commitPending: true);

    /// <summary>
    /// Closes the files without committing what is pending: for a producer that failed part-way,
    /// whose uncommitted records nobody heard back about and must not come back at recovery (one
    /// of them may be the input it failed on, which would fail recovery the same way).
    /// </summary>
    public void Abandon() => Close(commitPending: false);

    private void Close(bool commitPending)
    {
        if (commitPending && Volatile.Read(ref pendingLength) > 0)
        {
            try
            {
                Commit();
            }
            catch (Exception)
            {
                // Recorded as the fault: DurableSequence says what is on disk.
            }
        }
        lock (gate)
        {
            if (disposed) return;
            disposed = true;
            Monitor.PulseAll(gate);
        }
        active?.Dispose();
        directoryLock.Dispose();
    }

    private void ThrowIfUnusable()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (fault is not null) throw CommitFailed();
    }

    private IOException CommitFailed() =>
        new($"A journal write failed; nothing after sequence {DurableSequence} is durable.", fault);
}
