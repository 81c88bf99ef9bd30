using System.Globalization;
using Exchange.Engine;

namespace Exchange.Journal;

public sealed record SnapshotEntry(string Path, long LastSequence);

/// <summary>
/// The snapshot folder: <c>snapshot-{lastSequence:D20}.snap</c> files, newest by position,
/// keeping at most <c>maxSnapshots</c>.
/// </summary>
public sealed class SnapshotStore
{
    private readonly string _directory;
    private readonly int _maxSnapshots;

    public SnapshotStore(string directory, int maxSnapshots)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSnapshots, 1);
        _directory = directory;
        _maxSnapshots = maxSnapshots;
        DirectorySync.Create(directory);
    }

    /// <summary>
    /// Deletes temp files: snapshots whose write never finished. Only for the engine that holds
    /// the data folder: beside a running one, a temp file is the snapshot it is writing.
    /// </summary>
    public void RemoveUnfinished()
    {
        foreach (var temp in Directory.EnumerateFiles(_directory, "*.tmp")) File.Delete(temp);
    }

    public string Folder => _directory;

    /// <summary>Snapshots on disk, newest first (by file name; contents are not checked).</summary>
    public IReadOnlyList<SnapshotEntry> List()
    {
        var entries = new List<SnapshotEntry>();
        foreach (var path in Directory.EnumerateFiles(_directory, "snapshot-*.snap"))
            if (SequenceInName(path) is { } seq) entries.Add(new SnapshotEntry(path, seq));
        entries.Sort((a, b) => b.LastSequence.CompareTo(a.LastSequence));
        return entries;
    }

    /// <summary>
    /// The highest sequence a snapshot file in <paramref name="directory"/> names, finished or
    /// still a <c>.tmp</c> (one is begun only once the journal holds what it covers); 0 if none.
    /// Reads names only, and makes no folder.
    /// </summary>
    public static long NewestSequenceBegun(string directory)
    {
        if (!Directory.Exists(directory)) return 0;
        long newest = 0;
        foreach (var path in Directory.EnumerateFiles(directory, "snapshot-*"))
            newest = Math.Max(newest, SequenceInName(path) ?? 0);
        return newest;
    }

    /// <summary>The sequence in <c>snapshot-{sequence}.snap</c> (or <c>.snap.tmp</c>).</summary>
    private static long? SequenceInName(string path)
    {
        var name = Path.GetFileName(path).AsSpan("snapshot-".Length);
        var dot = name.IndexOf('.');
        return dot > 0 && long.TryParse(name[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out var seq) ? seq : null;
    }

    public SnapshotHeader Write(StateImage image, long createdAtMs)
    {
        var path = Path.Combine(_directory, string.Create(CultureInfo.InvariantCulture, $"snapshot-{image.LastSequence:D20}.snap"));
        return SnapshotFile.Write(path, image, createdAtMs);
    }

    /// <summary>Deletes all but the newest snapshots; returns the position of the oldest one kept (0 if none).</summary>
    public long Prune()
    {
        var entries = List();
        for (var i = _maxSnapshots; i < entries.Count; i++) File.Delete(entries[i].Path);
        return entries.Count == 0 ? 0 : entries[Math.Min(entries.Count, _maxSnapshots) - 1].LastSequence;
    }

    /// <summary>
    /// The newest snapshot that passes every check. Corrupt ones are reported through
    /// <paramref name="skipped"/> and passed over; null when none is usable.
    /// </summary>
    public (StateImage Image, SnapshotHeader Header, string Path)? LoadNewestValid(Action<SnapshotCorruptException> skipped)
    {
        foreach (var entry in List())
        {
            try
            {
                var (image, header) = SnapshotFile.Read(entry.Path);
                return (image, header, entry.Path);
            }
            catch (SnapshotCorruptException e)
            {
                skipped(e);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                skipped(new SnapshotCorruptException(entry.Path, e.Message)); // unreadable is unusable: an older one may do
            }
        }
        return null;
    }
}
