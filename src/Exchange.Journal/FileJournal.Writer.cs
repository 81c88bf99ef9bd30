using System.Diagnostics;
using Microsoft.Win32.SafeHandles;

namespace Exchange.Journal;

/// <summary>Counters of the journal's commits, for benchmarks and metrics.</summary>
public readonly record struct JournalStats(long Batches, long Records, long Bytes, long Fsyncs, TimeSpan FsyncTime, TimeSpan MaxFsync)
{
    public double MeanBatchSize => Batches == 0 ? 0 : (double)Records / Batches;
    public TimeSpan MeanFsync => Fsyncs == 0 ? TimeSpan.Zero : FsyncTime / Fsyncs;
}

public sealed partial class FileJournal
{
    // Owned by the producer (and the constructor, and Dispose once the producer has stopped).
    private SafeFileHandle? active;
    private long activeLength;
    private long zeroedUntil; // the active segment holds written zeros from activeLength up to here
    private long batches, records, bytes, fsyncs, fsyncTicks, maxFsyncTicks;

    /// <summary>Told each batch's record count and fsync time (zero with fsync off), in <see cref="Commit"/>; for metrics.</summary>
    internal Action<int, TimeSpan>? BatchWritten { get; set; }

    /// <summary>How far ahead of its records a commit fills the active segment with zeros.</summary>
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
    /// On the producer's thread: writes and fsyncs everything appended so far (one write, one
    /// fsync, whatever the number of records), publishes <see cref="DurableSequence"/> and wakes
    /// <see cref="Flush"/>. Returns the durable sequence; nothing pending costs nothing. A failed
    /// write or fsync throws, and the journal then refuses appends for good (see <see cref="Fail"/>).
    /// </summary>
    public long Commit()
    {
        int length;
        long batchLast;
        lock (gate)
        {
            ThrowIfUnusable();
            if (pendingLength == 0) return durableSequence;
            length = pendingLength;
            batchLast = lastAppended;
            pendingLength = 0; // nothing appends meanwhile: the producer is here
        }
        try
        {
            WriteBatch(pending.AsSpan(0, length));
        }
        catch (Exception e)
        {
            Fail(e);
            throw;
        }
        Volatile.Write(ref durableSequence, batchLast);
        lock (gate) Monitor.PulseAll(gate);
        return batchLast;
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
        var took = Stopwatch.GetTimestamp() - started;
        Volatile.Write(ref fsyncs, fsyncs + 1);
        Volatile.Write(ref fsyncTicks, fsyncTicks + took);
        if (took > maxFsyncTicks) Volatile.Write(ref maxFsyncTicks, took);
    }
}
