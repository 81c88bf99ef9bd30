using System.Diagnostics;
using Microsoft.Win32.SafeHandles;

namespace Exchange.Journal;

/// <summary>Counters of the writer thread, for benchmarks and metrics.</summary>
public readonly record struct JournalStats(long Batches, long Records, long Bytes, long Fsyncs, TimeSpan FsyncTime, TimeSpan MaxFsync)
{
    public double MeanBatchSize => Batches == 0 ? 0 : (double)Records / Batches;
    public TimeSpan MeanFsync => Fsyncs == 0 ? TimeSpan.Zero : FsyncTime / Fsyncs;
}

public sealed partial class FileJournal
{
    private readonly Thread? writer; // null with JournalOptions.CommitOnProducerThread

    // Owned by the writer thread, or by the producer when it commits (and the constructor).
    private byte[] writing = new byte[64 << 10];
    private SafeFileHandle? active;
    private long activeLength;
    private long zeroedUntil; // the active segment holds written zeros from activeLength up to here
    private long batches, records, bytes, fsyncs, fsyncTicks, maxFsyncTicks, lastFsyncTicks;
    private int gatherSkips;

    /// <summary>Told each batch's record count and fsync time (zero with fsync off), on the writer thread; for metrics.</summary>
    internal Action<int, TimeSpan>? BatchWritten { get; set; }

    private const int GatherBackoff = 32;

    /// <summary>How far ahead of its records the writer fills the active segment with zeros.</summary>
    private const int ZeroFillAhead = 1 << 20;

    private static readonly byte[] Zeros = new byte[64 << 10];

    public JournalStats Stats => new(
        Volatile.Read(ref batches), Volatile.Read(ref records), Volatile.Read(ref bytes), Volatile.Read(ref fsyncs),
        Stopwatch.GetElapsedTime(0, Volatile.Read(ref fsyncTicks)), Stopwatch.GetElapsedTime(0, Volatile.Read(ref maxFsyncTicks)));

    private void OpenActiveSegment()
    {
        if (segments.Length == 0) return;
        active = File.OpenHandle(segments[^1].Path, FileMode.Open, FileAccess.Write, FileShare.Read);
        activeLength = zeroedUntil = RandomAccess.GetLength(active);
    }

    /// <summary>
    /// With <see cref="JournalOptions.CommitOnProducerThread"/>, on the producer's thread: writes
    /// and fsyncs everything appended so far, publishes <see cref="DurableSequence"/>, calls
    /// <c>onDurable</c> and wakes <see cref="Flush"/>. Returns the durable sequence. A failed write
    /// or fsync throws, and the journal then refuses appends for good (see <see cref="Fail"/>).
    /// </summary>
    public long Commit()
    {
        if (writer is not null) throw new InvalidOperationException("This journal commits on its own writer thread.");
        int length;
        long batchLast;
        lock (gate)
        {
            ThrowIfUnusable();
            if (pendingLength == 0) return durableSequence;
            TakePending(out length, out batchLast);
        }
        try
        {
            WriteBatch(writing.AsSpan(0, length));
            PublishDurable(batchLast);
        }
        catch (Exception e)
        {
            Fail(e);
            throw;
        }
        return batchLast;
    }

    /// <summary>Under <c>gate</c>: swaps everything pending into <c>writing</c> for one batch; returns its record count.</summary>
    private int TakePending(out int length, out long batchLast)
    {
        (pending, writing) = (writing, pending);
        length = pendingLength;
        pendingLength = 0;
        var records = pendingRecords;
        pendingRecords = 0;
        batchLast = lastAppended;
        return records;
    }

    /// <summary>After a batch's write and fsync: publishes <see cref="DurableSequence"/>, calls <c>onDurable</c>, wakes <see cref="Flush"/>.</summary>
    private void PublishDurable(long batchLast)
    {
        Volatile.Write(ref durableSequence, batchLast);
        onDurable?.Invoke(batchLast);
        lock (gate) Monitor.PulseAll(gate);
    }

    /// <summary>
    /// After a failed write or fsync the kernel may have dropped the dirty pages, so a retry
    /// could report success for lost data: the journal stops for good instead.
    /// </summary>
    private void Fail(Exception e)
    {
        lock (gate)
        {
            fault = e;
            Monitor.PulseAll(gate);
        }
    }

    private void WriterLoop()
    {
        ThreadScheduling.RequestShortSlice();
        try
        {
            var released = 0;
            var alreadyPending = 0;
            while (true)
            {
                int length;
                long batchLast;
                GatherCallers(released, alreadyPending);
                lock (gate)
                {
                    while (pendingLength == 0 && !stopping)
                    {
                        writerIdle = true;
                        Monitor.Wait(gate);
                        writerIdle = false;
                    }
                    if (pendingLength == 0) return;
                    released = TakePending(out length, out batchLast);
                    Monitor.PulseAll(gate); // a producer held back by MaxPendingBytes may go on
                }

                WriteBatch(writing.AsSpan(0, length));
                // Nobody released by this batch can have appended yet: what is pending now came from others.
                alreadyPending = Volatile.Read(ref pendingRecords);
                PublishDurable(batchLast);
            }
        }
        catch (Exception e)
        {
            Fail(e);
        }
    }

    /// <summary>
    /// Group commit with callers that wait for their record before sending the next one: the
    /// batch just made durable released their replies, and most of them append again within
    /// microseconds. Taking the next batch at once would catch only what arrived during the
    /// last fsync, and such callers settle into two groups taking turns, each waiting two
    /// fsyncs. So, after a batch of several records, the writer first waits for most of them
    /// (7/8 of that batch's count pending on top of what was already pending when it became
    /// durable: otherwise the other group alone would meet the count, and the two groups would
    /// never merge), yielding its core to them meanwhile, but never longer than the last fsync
    /// took (at most 1 ms). Only with fsync on; a lone caller is never held up.
    /// <para>
    /// Callers that do not come back (an open-loop stream of independent requests, as over
    /// HTTP) would make every wait run out: added latency and a core spent yielding for
    /// nothing. A wait that runs out therefore turns waiting off for the next
    /// <see cref="GatherBackoff"/> batches, after which it is tried again.
    /// </para>
    /// </summary>
    private void GatherCallers(int released, int alreadyPending)
    {
        if (!options.FsyncEnabled || released < 2 || lastFsyncTicks == 0) return;
        if (gatherSkips > 0)
        {
            gatherSkips--;
            return;
        }
        var target = alreadyPending + released - released / 8;
        var until = Stopwatch.GetTimestamp() + Math.Min(lastFsyncTicks, Stopwatch.Frequency / 1000);
        while (Volatile.Read(ref pendingRecords) < target && !Volatile.Read(ref stopping))
        {
            if (Stopwatch.GetTimestamp() >= until)
            {
                gatherSkips = GatherBackoff;
                return;
            }
            Thread.Yield();
        }
    }

    /// <summary>Seals each record's checksum, writes the batch and fsyncs, rolling segments on the way.</summary>
    private void WriteBatch(Span<byte> batch)
    {
        var chunkStart = 0;
        var position = 0;
        var count = 0;
        while (position < batch.Length)
        {
            var record = batch[position..];
            var recordLength = RecordFormat.HeaderLength + RecordFormat.PayloadLength(record);
            var segmentUsed = activeLength + (position - chunkStart);
            if (active is null || (segmentUsed > 0 && segmentUsed + recordLength > options.SegmentSize))
            {
                WriteToActive(batch[chunkStart..position]);
                Roll(RecordFormat.Sequence(record));
                chunkStart = position;
            }
            RecordFormat.Seal(record[..recordLength]);
            position += recordLength;
            count++;
        }
        WriteToActive(batch[chunkStart..position]);
        var fsyncBefore = fsyncTicks;
        Sync(active!);
        try
        {
            BatchWritten?.Invoke(count, Stopwatch.GetElapsedTime(0, fsyncTicks - fsyncBefore));
        }
        catch (Exception)
        {
            // A metrics listener's failure must not stop the journal, which treats a throw as a failed write.
        }
        Volatile.Write(ref batches, batches + 1);
        Volatile.Write(ref records, records + count);
        Volatile.Write(ref bytes, bytes + batch.Length);
    }

    private void WriteToActive(ReadOnlySpan<byte> chunk)
    {
        if (chunk.IsEmpty) return;
        RandomAccess.Write(active!, chunk, activeLength);
        activeLength += chunk.Length;
        if (options.FsyncEnabled && activeLength > zeroedUntil - ZeroFillAhead / 2) FillAhead();
    }

    /// <summary>
    /// Writes zeros ahead of the records, up to <see cref="ZeroFillAhead"/> past them (within the
    /// segment size): an fsync that must also record a larger file size costs about half as
    /// much again as one that only writes data, and with the space filled ahead only one
    /// batch in hundreds pays that. Readers and recovery stop at the zeros.
    /// </summary>
    private void FillAhead()
    {
        var from = Math.Max(zeroedUntil, activeLength);
        var until = Math.Min(options.SegmentSize, activeLength + ZeroFillAhead);
        while (from < until)
        {
            var count = (int)Math.Min(Zeros.Length, until - from);
            RandomAccess.Write(active!, Zeros.AsSpan(0, count), from);
            from += count;
        }
        zeroedUntil = Math.Max(zeroedUntil, until);
    }

    /// <summary>
    /// The full segment is synced before its successor exists, so only the last segment can
    /// ever hold a torn write; the new name is synced into the directory.
    /// </summary>
    private void Roll(long firstSequence)
    {
        if (active is not null)
        {
            Sync(active);
            active.Dispose();
        }
        var next = Segment.For(directory, firstSequence);
        active = File.OpenHandle(next.Path, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
        activeLength = zeroedUntil = 0;
        if (options.FsyncEnabled) DirectorySync.Flush(directory);
        lock (segmentsLock) Volatile.Write(ref segments, [.. segments, next]);
    }

    private void Sync(SafeFileHandle file)
    {
        if (!options.FsyncEnabled) return;
        var started = Stopwatch.GetTimestamp();
        RandomAccess.FlushToDisk(file);
        var took = lastFsyncTicks = Stopwatch.GetTimestamp() - started;
        Volatile.Write(ref fsyncs, fsyncs + 1);
        Volatile.Write(ref fsyncTicks, fsyncTicks + took);
        if (took > maxFsyncTicks) Volatile.Write(ref maxFsyncTicks, took);
    }
}
