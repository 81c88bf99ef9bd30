using System.Globalization;

namespace Exchange.Journal;

/// <summary>What <see cref="FileJournal.CutDamagedTail"/> set aside.</summary>
/// <param name="SegmentPath">The last segment, now ending at <paramref name="Offset"/>.</param>
/// <param name="Offset">Where the bad record started: everything before it is kept.</param>
/// <param name="Bytes">How many bytes were cut, all of them saved to <paramref name="SavedTo"/>.</param>
/// <param name="SavedTo">The cut bytes as they were; appending them to the segment undoes the cut.</param>
/// <param name="LastSequenceKept">The journal now ends here.</param>
/// <param name="SequencesSetAside">Whole, checksummed records found after the bad one (set aside with it).</param>
public sealed record JournalTailCut(string SegmentPath, long Offset, long Bytes, string SavedTo, long LastSequenceKept, IReadOnlyList<long> SequencesSetAside);

public sealed partial class FileJournal
{
    /// <summary>
    /// For an operator, after opening refused a journal whose last segment holds a bad record
    /// with valid records after it (<see cref="JournalCorruptException.MayBeUnacknowledgedTail"/>):
    /// a power cut can leave the last batch, never acknowledged, with its pages written out of
    /// order, and nothing on the disk tells that from damage to acknowledged records. This moves
    /// the segment's bytes from the bad record on into a file beside it (appending it back
    /// undoes the cut), so the journal opens again. Refused when <paramref name="acknowledgedThrough"/>
    /// (the newest snapshot's sequence: a snapshot is only written once the journal holds what it
    /// covers) lies past the last record kept, since then the cut records were acknowledged, and
    /// for damage anywhere but the last segment. Returns null when the journal opens as it is.
    /// </summary>
    public static JournalTailCut? CutDamagedTail(string directory, long acknowledgedThrough, bool fsync = true)
    {
        using var directoryLock = ExclusiveLockFile.TryTake(Path.Combine(directory, "journal.lock"))
            ?? throw new JournalInUseException(directory);
        JournalCorruptException damage;
        try
        {
            JournalRecovery.Run(directory, fsync);
            return null;
        }
        catch (JournalCorruptException e) when (e.MayBeUnacknowledgedTail)
        {
            damage = e;
        }

        var segment = Segment.List(directory).Single(s => s.Path == damage.SegmentPath);
        var lastKept = LastSequenceBefore(segment, damage.Offset);
        if (acknowledgedThrough > lastKept)
            throw new JournalCorruptException(damage.SegmentPath, damage.Offset,
                $"a snapshot covers sequence {acknowledgedThrough}, past the last record before the damage ({lastKept}): the damaged records were acknowledged, so they are not cut; restore the data folder from a backup");

        var length = new FileInfo(segment.Path).Length;
        var setAside = JournalRecovery.ValidRecordsAfter(segment.Path, damage.Offset, length, lastKept).ToList();
        var savedTo = Path.Combine(directory, string.Create(CultureInfo.InvariantCulture,
            $"cut-{Path.GetFileNameWithoutExtension(segment.Path)}-at-{damage.Offset}.bin"));
        using (var saved = File.OpenHandle(savedTo, FileMode.CreateNew, FileAccess.Write))
        {
            RandomAccess.Write(saved, JournalRecovery.ReadFrom(segment.Path, damage.Offset, length), 0);
            if (fsync) RandomAccess.FlushToDisk(saved);
        }
        if (fsync) DirectorySync.Flush(directory);
        JournalRecovery.Truncate(segment.Path, damage.Offset, fsync);
        // What the exchange will do next: any other damage shows here, before anyone relies on the cut.
        JournalRecovery.Run(directory, fsync);
        return new JournalTailCut(segment.Path, damage.Offset, length - damage.Offset, savedTo, lastKept, setAside);
    }

    /// <summary>The sequence of the last record that ends at or before <paramref name="offset"/>, or before the segment (its first sequence - 1).</summary>
    private static long LastSequenceBefore(Segment segment, long offset)
    {
        var last = segment.FirstSequence - 1;
        using var reader = new SegmentReader(segment.Path, new byte[1 << 20]);
        while (reader.Offset < offset && reader.Next(last, out var sequence, out _, out _) == RecordStatus.Record)
            last = sequence;
        return last;
    }
}
