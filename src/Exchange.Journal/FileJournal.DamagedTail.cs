using System.Globalization;

namespace Exchange.Journal;

/// <summary>What <see cref="FileJournal.CutDamagedTail"/> found (and, when told to, set aside).</summary>
/// <param name="SegmentPath">The last segment: cut at <paramref name="Offset"/>, or deleted when that is 0.</param>
/// <param name="Offset">Where the bad record starts: everything before it is kept.</param>
/// <param name="Bytes">How many bytes the cut takes, all of them saved to <paramref name="SavedTo"/>.</param>
/// <param name="LastSequenceKept">The journal ends here after the cut.</param>
/// <param name="SequencesSetAside">Whole, checksummed records found after the bad one (set aside with it).</param>
/// <param name="SavedTo">The cut bytes as they were (appending them to the segment undoes the cut); null when nothing was cut yet.</param>
public sealed record JournalTailCut(string SegmentPath, long Offset, long Bytes, long LastSequenceKept, IReadOnlyList<long> SequencesSetAside, string? SavedTo);

public sealed partial class FileJournal
{
    /// <summary>
    /// For an operator, after opening refused a journal whose last segment holds a bad record
    /// with valid records after it (<see cref="JournalCorruptException.MayBeUnacknowledgedTail"/>):
    /// a power cut can leave the last batch, never acknowledged, with its pages written out of
    /// order, and nothing on the disk tells that from damage to acknowledged records. Refuses
    /// (<see cref="JournalCorruptException"/>, nothing touched) when the bytes show the records
    /// were acknowledged: <paramref name="acknowledgedThrough"/> (what a snapshot or the recorder
    /// holds: both come only after the journal has a record) lies past the last record kept, or
    /// the records after the damage reach further than one commit writes
    /// (<paramref name="maxRecordsPerCommit"/>), so a later commit followed the damaged one.
    /// Otherwise, with <paramref name="apply"/>, moves the segment's bytes from the bad record on
    /// into a file beside it (appending it back undoes the cut) and opens the journal again;
    /// without, only says what it would cut. Returns null, with what opening found, when the
    /// journal opens as it is.
    /// </summary>
    public static JournalTailCut? CutDamagedTail(string directory, long acknowledgedThrough, int maxRecordsPerCommit, bool apply,
        JournalOptions? options, out JournalRecoveryInfo? opensAsItIs)
    {
        options ??= JournalOptions.Default;
        opensAsItIs = null;
        using var directoryLock = ExclusiveLockFile.TryTake(Path.Combine(directory, "journal.lock"))
            ?? throw new JournalInUseException(directory);
        JournalCorruptException damage;
        try
        {
            opensAsItIs = JournalRecovery.Run(directory, options.FsyncEnabled).Info;
            return null;
        }
        catch (JournalCorruptException e) when (e.MayBeUnacknowledgedTail)
        {
            damage = e;
        }

        var lastKept = damage.LastGoodSequence;
        var length = new FileInfo(damage.SegmentPath).Length;
        var tail = JournalRecovery.ReadFrom(damage.SegmentPath, damage.Offset, length);
        var after = JournalRecovery.ValidRecordsIn(tail, damage.Offset, lastKept).ToList();
        JournalCorruptException Acknowledged(string why) => new(damage.SegmentPath, damage.Offset,
            $"{why}: the damaged records were acknowledged, so they are not cut; restore the data folder from a backup");
        if (acknowledgedThrough > lastKept)
            throw Acknowledged($"sequence {acknowledgedThrough} is in a snapshot or the recorder's hands, past the last record before the damage ({lastKept})");
        if (after.Count > 0 && after[^1].Sequence - lastKept > maxRecordsPerCommit)
            throw Acknowledged($"a whole record with sequence {after[^1].Sequence} follows the damage, more than one commit's {maxRecordsPerCommit} records past the last one before it ({lastKept}), so a later commit was written after it");

        var cut = new JournalTailCut(damage.SegmentPath, damage.Offset, length - damage.Offset, lastKept, [.. after.Select(r => r.Sequence)], null);
        if (!apply) return cut;

        var savedTo = SaveAside(directory, damage.SegmentPath, damage.Offset, tail, options.FsyncEnabled);
        JournalRecovery.Truncate(damage.SegmentPath, damage.Offset, options.FsyncEnabled);
        try
        {
            // What the exchange will do next: any other damage shows here, before anyone relies on the cut.
            JournalRecovery.Run(directory, options.FsyncEnabled);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"Cut {tail.Length} bytes from {damage.SegmentPath} at offset {damage.Offset} (saved in {savedTo}), but the journal still does not open: {e.Message}", e);
        }
        return cut with { SavedTo = savedTo };
    }

    /// <summary>
    /// Writes the tail into <c>cut-{segment}-at-{offset}.bin</c> and syncs it and its name. A file
    /// of that name left by an attempt that stopped before the cut is used if it holds the same
    /// bytes; otherwise the next free name is taken.
    /// </summary>
    private static string SaveAside(string directory, string segmentPath, long offset, byte[] tail, bool fsync)
    {
        var name = string.Create(CultureInfo.InvariantCulture, $"cut-{Path.GetFileNameWithoutExtension(segmentPath)}-at-{offset}");
        for (var attempt = 1; ; attempt++)
        {
            var path = Path.Combine(directory, attempt == 1 ? name + ".bin" : string.Create(CultureInfo.InvariantCulture, $"{name}-{attempt}.bin"));
            if (File.Exists(path))
            {
                if (!File.ReadAllBytes(path).AsSpan().SequenceEqual(tail)) continue;
            }
            else
            {
                using var saved = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write);
                RandomAccess.Write(saved, tail, 0);
                if (fsync) RandomAccess.FlushToDisk(saved);
            }
            if (fsync) DirectorySync.Flush(directory);
            return path;
        }
    }
}
