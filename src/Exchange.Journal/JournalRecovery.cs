using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Exchange.Journal;

/// <summary>
/// Checks every record of every segment when a journal opens. Only the end of the last
/// segment may be torn (a crash during its final write): that tail is cut. A bad record
/// anywhere else, or one followed by any valid record, means acknowledged data is damaged,
/// and opening fails instead of skipping it.
/// </summary>
internal static class JournalRecovery
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static (List<Segment> Segments, JournalRecoveryInfo Info) Run(string directory, bool fsync)
    {
        var clock = Stopwatch.StartNew();
        var found = Segment.List(directory);
        var kept = new List<Segment>(found.Count);
        var buffer = new byte[1 << 20];
        long last = 0, records = 0, cutOffset = 0, cutBytes = 0;
        string? cutPath = null;
        long keptZeroFillAt = -1; // where the zeros start in the last kept segment, if it has any
        long keptLength = 0; // of the last kept segment, after any cut

        for (var i = 0; i < found.Count; i++)
        {
            var segment = found[i];
            var isLast = i == found.Count - 1;
            long tornAt = -1, zeroFillAt = -1, length;
            var firstInSegment = true;
            using (var reader = new SegmentReader(segment.Path, buffer))
            {
                length = reader.Length;
                if (length == 0 && !isLast)
                    throw new JournalCorruptException(segment.Path, 0, "segment is empty but later segments exist");
                while (true)
                {
                    var status = reader.Next(last, out var sequence, out _, out var problem);
                    if (status == RecordStatus.End) break;
                    if (status == RecordStatus.Record)
                    {
                        if (firstInSegment && sequence != segment.FirstSequence)
                            throw new JournalCorruptException(segment.Path, 0, $"first record has sequence {sequence}, the name says {segment.FirstSequence}");
                        firstInSegment = false;
                        last = sequence;
                        records++;
                        continue;
                    }
                    if (status == RecordStatus.ZeroFill)
                    {
                        if (IsZeroFrom(segment.Path, reader.Offset, length))
                        {
                            if (firstInSegment && !isLast)
                                throw new JournalCorruptException(segment.Path, 0, "segment has no records but later segments exist");
                            zeroFillAt = reader.Offset;
                            break;
                        }
                        status = RecordStatus.Bad;
                        problem = "zeros where a record should start, and other bytes after them";
                    }
                    if (status == RecordStatus.OutOfOrder || !isLast || ValidRecordsAfter(segment.Path, reader.Offset, length, last).Any())
                        throw status == RecordStatus.Bad && isLast
                            ? new JournalCorruptException(segment.Path, reader.Offset, problem + ", and valid records follow it", mayBeUnacknowledgedTail: true, lastGoodSequence: last)
                            : new JournalCorruptException(segment.Path, reader.Offset, problem);
                    tornAt = reader.Offset;
                    break;
                }
                buffer = reader.Buffer;
            }

            if (tornAt >= 0)
            {
                cutPath = segment.Path;
                cutOffset = tornAt;
                cutBytes = length - tornAt;
                Truncate(segment.Path, tornAt, fsync);
                length = tornAt;
            }
            else if (zeroFillAt == 0 && isLast)
            {
                length = 0; // only zeros: created and filled just before a crash
            }
            if (length == 0)
            {
                // A segment created just before a crash, or whose only record was torn.
                File.Delete(segment.Path);
                if (fsync) DirectorySync.Flush(directory);
                continue;
            }
            kept.Add(segment);
            keptZeroFillAt = tornAt >= 0 ? -1 : zeroFillAt;
            keptLength = length;
        }

        // Space filled ahead but never used at the end of the segment the journal continues (also
        // when a later, empty segment was just deleted): cut it, so appending starts right after
        // the last record instead of after the zeros.
        if (kept.Count > 0 && keptZeroFillAt > 0)
        {
            Truncate(kept[^1].Path, keptZeroFillAt, fsync);
            keptLength = keptZeroFillAt;
        }
        if (fsync && kept.Count > 0) WriteAgain(kept[^1].Path, keptLength, buffer);

        var info = new JournalRecoveryInfo(kept.Count, records, last, cutPath, cutOffset, cutBytes, clock.Elapsed);
        return (kept, info);
    }

    /// <summary>
    /// The whole, checksummed records with a later sequence anywhere after the bad one (their
    /// sequence, and the file offset where each ends), found lazily. A torn write leaves only a
    /// prefix of the last batch, so there can be none; finding one means the bad record sits
    /// inside acknowledged data (a damaged length field included), or pages of the last batch
    /// reached the disk out of order.
    /// </summary>
    internal static IEnumerable<(long Sequence, long End)> ValidRecordsAfter(string path, long badOffset, long length, long lastGood) =>
        ValidRecordsIn(ReadFrom(path, badOffset, length), badOffset, lastGood);

    /// <summary><see cref="ValidRecordsAfter"/> over a tail already read, which starts at <paramref name="badOffset"/>.</summary>
    internal static IEnumerable<(long Sequence, long End)> ValidRecordsIn(byte[] tail, long badOffset, long lastGood)
    {
        for (var p = 1; p + RecordFormat.HeaderLength <= tail.Length; p++)
        {
            var payloadLength = RecordFormat.PayloadLength(tail.AsSpan(p));
            if (payloadLength > tail.Length - p - RecordFormat.HeaderLength) continue;
            var sequence = RecordFormat.Sequence(tail.AsSpan(p));
            if (sequence <= lastGood) continue;
            var recordLength = RecordFormat.HeaderLength + payloadLength;
            if (!IsSealed(tail.AsSpan(p, recordLength))) continue;
            yield return (sequence, badOffset + p + recordLength);
            lastGood = sequence;
            p += recordLength - 1;
        }
    }

    private static bool IsSealed(ReadOnlySpan<byte> record) => RecordFormat.Checksum(record) == RecordFormat.StoredChecksum(record);

    internal static byte[] ReadFrom(string path, long offset, long length)
    {
        var bytes = new byte[length - offset];
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var done = 0;
        while (done < bytes.Length)
        {
            var read = RandomAccess.Read(file, bytes.AsSpan(done), offset + done);
            if (read == 0) break;
            done += read;
        }
        return bytes;
    }

    private static bool IsZeroFrom(string path, long offset, long length)
    {
        var chunk = new byte[(int)Math.Min(1 << 20, Math.Max(1, length - offset))];
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        while (offset < length)
        {
            var read = RandomAccess.Read(file, chunk, offset);
            if (read == 0) break;
            if (chunk.AsSpan(0, read).ContainsAnyExcept((byte)0)) return false;
            offset += read;
        }
        return true;
    }

    /// <summary>
    /// Writes the first <paramref name="length"/> bytes of a segment again, as read, and syncs
    /// them. After a failed fsync the kernel may keep the pages it could not write in its cache,
    /// marked clean: a restart without a reboot (the journal stops on the failure, a supervisor
    /// starts the process again) reads them back as if they were on disk, and no later fsync
    /// would ever write them. Written again here, everything recovery accepted reaches the disk
    /// before anything is acknowledged after it, or the start fails on the disk's error. Only the
    /// last segment: a segment is synced before the next one is made.
    /// </summary>
    private static void WriteAgain(string path, long length, byte[] buffer)
    {
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
        for (long at = 0; at < length;)
        {
            var read = RandomAccess.Read(file, buffer.AsSpan(0, (int)Math.Min(buffer.Length, length - at)), at);
            if (read == 0) break;
            RandomAccess.Write(file, buffer.AsSpan(0, read), at);
            at += read;
        }
        RandomAccess.FlushToDisk(file);
    }

    internal static void Truncate(string path, long length, bool fsync)
    {
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
        RandomAccess.SetLength(file, length);
        if (fsync) RandomAccess.FlushToDisk(file);
    }
}
