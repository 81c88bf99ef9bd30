namespace Exchange.Journal;

/// <summary>
/// The embedded log: an append-only journal of segment files with group commit.
/// One producer (the engine thread) calls <see cref="Append"/>, which only copies the record
/// into a pending buffer; a dedicated writer thread takes everything pending, writes it with
/// one call and one fsync, then publishes <see cref="DurableSequence"/> and calls
/// <c>onDurable</c>, so replies are released only for records that are on disk. With
/// <see cref="JournalOptions.CommitOnProducerThread"/> there is no writer thread: the producer
/// does the same by calling <see cref="Commit"/>.
/// </summary>
public sealed partial class FileJournal : IDisposable
{
    private readonly string directory;
    private readonly JournalOptions options;
    private readonly Action<long>? onDurable;
    private readonly FileStream directoryLock;
    private readonly Lock segmentsLock = new();
    private Segment[] segments;

    // Guarded by gate: the producer's side and the hand-over to the writer.
    private readonly object gate = new();
    private byte[] pending = new byte[64 << 10];
    private int pendingLength;
    private int pendingRecords;
    private long lastAppended;
    private bool writerIdle;
    private bool stopping;
    private bool disposed;
    private Exception? fault;

    private long durableSequence;

    private FileJournal(string directory, JournalOptions options, Action<long>? onDurable, FileStream directoryLock,
        List<Segment> segments, JournalRecoveryInfo recovery)
    {
        this.directory = directory;
        this.options = options;
        this.onDurable = onDurable;
        this.directoryLock = directoryLock;
        this.segments = [.. segments];
        Recovery = recovery;
        lastAppended = durableSequence = recovery.LastSequence;
        OpenActiveSegment();
        if (options.CommitOnProducerThread) return;
        writer = new Thread(WriterLoop) { IsBackground = true, Name = "journal-writer" };
        writer.Start();
    }

    /// <summary>
    /// Opens (or creates) the journal in <paramref name="directory"/>: checks every record,
    /// cuts a torn tail off the last segment, and throws <see cref="JournalCorruptException"/>
    /// for damage anywhere else. <paramref name="onDurable"/> runs on the writer thread (or in
    /// <see cref="Commit"/>) with the highest durable sequence after each batch: keep it short (if
    /// it throws, the journal stops accepting appends, as after a failed write).
    /// </summary>
    public static FileJournal Open(string directory, JournalOptions? options = null, Action<long>? onDurable = null)
    {
        options ??= JournalOptions.Default;
        ArgumentOutOfRangeException.ThrowIfLessThan(options.SegmentSize, RecordFormat.HeaderLength + 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxPendingBytes, 1, nameof(options));
        Directory.CreateDirectory(directory);
        // An exclusive lock: two processes appending to one journal would interleave garbage.
        var directoryLock = new FileStream(Path.Combine(directory, "journal.lock"), FileMode.OpenOrCreate,
            FileAccess.ReadWrite, FileShare.None);
        try
        {
            var (found, recovery) = JournalRecovery.Run(directory, options.FsyncEnabled);
            return new FileJournal(directory, options, onDurable, directoryLock, found, recovery);
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
    /// Queues one record. Sequences must increase. Returns at once unless
    /// <see cref="JournalOptions.MaxPendingBytes"/> are already queued (then it waits for the
    /// writer, or without one commits them itself).
    /// </summary>
    public void Append(long sequence, ReadOnlySpan<byte> payload)
    {
        if (payload.Length > RecordFormat.MaxPayloadLength)
            throw new ArgumentException($"Payload of {payload.Length} bytes is over the {RecordFormat.MaxPayloadLength} limit.", nameof(payload));
        var recordLength = RecordFormat.HeaderLength + payload.Length;
        if (writer is null && pendingLength > 0 && pendingLength + recordLength > options.MaxPendingBytes) Commit();
        lock (gate)
        {
            ThrowIfUnusable();
            if (sequence <= lastAppended)
                throw new ArgumentOutOfRangeException(nameof(sequence), sequence, $"Sequence must be above {lastAppended}.");
            while (pendingLength > 0 && pendingLength + recordLength > options.MaxPendingBytes)
            {
                Monitor.Wait(gate);
                ThrowIfUnusable();
            }
            if (pending.Length - pendingLength < recordLength)
                Array.Resize(ref pending, Math.Max(pending.Length * 2, pendingLength + recordLength));
            var record = pending.AsSpan(pendingLength, recordLength);
            RecordFormat.WriteHeader(record, payload.Length, sequence);
            payload.CopyTo(record[RecordFormat.HeaderLength..]);
            pendingLength += recordLength;
            Volatile.Write(ref pendingRecords, pendingRecords + 1);
            lastAppended = sequence;
            if (writerIdle) Monitor.PulseAll(gate);
        }
    }

    /// <summary>
    /// Blocks until everything appended so far is durable. Without a writer thread that is the
    /// producer's next <see cref="Commit"/>, so the producer itself must call that instead.
    /// </summary>
    public void Flush()
    {
        lock (gate)
        {
            var target = lastAppended;
            while (Volatile.Read(ref durableSequence) < target)
            {
                if (fault is not null) throw WriterFailed();
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

    public void Dispose()
    {
        if (writer is null && Volatile.Read(ref pendingLength) > 0)
        {
            try
            {
                Commit(); // as the writer thread would before it stops
            }
            catch (Exception)
            {
                // Recorded as the fault: DurableSequence says what is on disk.
            }
        }
        lock (gate)
        {
            if (disposed) return;
            disposed = stopping = true;
            Monitor.PulseAll(gate);
        }
        writer?.Join();
        active?.Dispose();
        directoryLock.Dispose();
    }

    private void ThrowIfUnusable()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (fault is not null) throw WriterFailed();
    }

    private IOException WriterFailed() =>
        new($"The journal writer failed; nothing after sequence {DurableSequence} is durable.", fault);
}
