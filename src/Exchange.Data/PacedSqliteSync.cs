using System.Buffers;
using System.Buffers.Binary;
using System.Data.Common;
using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;
using Microsoft.Win32.SafeHandles;

namespace Exchange.Data;

/// <summary>
/// Makes the recorder's SQLite writes durable in small steps instead of bursts.
/// <para>
/// A commit writes ~300 WAL pages (about 1 MB at 2,000 commands/s) within a millisecond or two,
/// and a checkpoint copies thousands of pages into the database file; SQLite's own fsync then
/// sends each lot to the disk in one go. The journal's fsyncs, a thousand or more a second on
/// the same disk, wait for whatever went before them, so every burst stalled some of them:
/// checkpoints for 20–45 ms (docs/benchmarks.md, thirteenth pass). So the recorder has SQLite
/// skip those syncs and does them itself: it starts the write-back of what was written a step
/// at a time with <c>sync_file_range</c>, a few milliseconds apart, and ends with <c>fdatasync</c>.
/// PostgreSQL spreads its writes the same way (<c>wal_writer_flush_after</c>,
/// <c>checkpoint_flush_after</c>).
/// </para>
/// <list type="bullet">
/// <item>Commits run with <c>synchronous=NORMAL</c>: in WAL mode a commit that is not synced yet
/// can be lost in a power cut but never corrupts the file. <see cref="FlushCommit"/> syncs the WAL
/// before the recorder reports the batch as recorded.</item>
/// <item>Checkpoints run with <c>synchronous=OFF</c> while another connection holds a read
/// transaction that sees every frame (<see cref="CheckpointAsync"/>). SQLite starts the WAL over
/// only when no reader uses it, so no frame can be overwritten before the database file is
/// synced; a power cut before then leaves the WAL whole, and SQLite replays it on open.</item>
/// </list>
/// <para>
/// Where the frames lie, and which database pages they hold, comes from the WAL index (the
/// <c>-shm</c> file, whose format SQLite documents). The final <c>fdatasync</c> covers the whole
/// file, so an index that cannot be read means unpaced syncs, and checkpoints by the WAL's size.
/// </para>
/// <para>
/// The files are opened once and never closed while SQLite may use them: on Linux, closing any
/// descriptor of a file drops every lock the process holds on it, SQLite's included, and another
/// process (the <c>sqlite3</c> shell, a backup) could then rebuild or delete the index under us.
/// A WAL or index that SQLite deleted and created anew is opened again (the old one is unused).
/// A failed <c>fdatasync</c> ends the process, as PostgreSQL does: the kernel may have dropped the
/// pages, so a retry could report success for data that never reached the disk.
/// </para>
/// </summary>
internal sealed class PacedSqliteSync
{
    /// <summary>Bytes whose write-back starts at once; the next step comes <see cref="StepPause"/> later.</summary>
    internal const int StepBytes = 128 << 10;

    /// <summary>
    /// About 32 MB/s: several times what the recorder writes at 2,000 commands/s (a checkpoint of
    /// ~18 MB then takes about a second). At 1 ms the disk fell behind and the final syncs still
    /// took 15–28 ms (docs/benchmarks.md, thirteenth pass).
    /// </summary>
    private static readonly TimeSpan StepPause = TimeSpan.FromMilliseconds(4);

    /// <summary>
    /// WAL frames after which the recorder checkpoints. Below the <c>wal_autocheckpoint</c> of every
    /// other connection (<see cref="SqliteConnectionSettings"/>), which stays as the backstop.
    /// </summary>
    internal const int DefaultCheckpointFrames = 16_000;

    /// <summary>What the recorder's connection runs before a batch: commits synced by <see cref="FlushCommit"/>, checkpoints by <see cref="CheckpointAsync"/>.</summary>
    internal const string BatchSettings = "PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0;";

    private const int WalHeaderBytes = 32, FrameHeaderBytes = 24, IndexHeaderBytes = 48;
    // The index is blocks of 32 KiB, each a list of page numbers then a hash table; the first
    // block starts with the two headers and the checkpoint information, so its list is shorter.
    private const int IndexBlockBytes = 32 << 10, IndexBlockPages = 4096, FirstBlockPages = 4062, FirstPageListOffset = 136;
    private const int BackfillOffset = 2 * IndexHeaderBytes;
    private const uint SyncFileRangeWrite = 2;

    private readonly string _databasePath;
    private readonly OpenFile _wal, _index, _database;
    private long _flushedEnd, _uncopiedFrames;
    private ulong _salt;
    private long _flushes, _checkpoints, _writtenBack;

    public PacedSqliteSync(string databasePath)
    {
        _databasePath = databasePath;
        _wal = new OpenFile(databasePath + "-wal");
        _index = new OpenFile(databasePath + "-shm");
        _database = new OpenFile(databasePath);
    }

    /// <summary>Where it can work: Linux (<c>sync_file_range</c>, <c>/proc</c>); the recorder also checks for WAL mode.</summary>
    public static bool IsSupported => OperatingSystem.IsLinux();

    public long Flushes => Interlocked.Read(ref _flushes);
    public long Checkpoints => Interlocked.Read(ref _checkpoints);

    /// <summary>Bytes whose write-back was started in steps (read by tests, on the writer's thread).</summary>
    internal long WrittenBackBytes => _writtenBack;

    /// <summary>WAL frames after which <see cref="CheckpointDue"/>; lower in tests.</summary>
    internal long CheckpointFrames { get; set; } = DefaultCheckpointFrames;

    /// <summary>Whether the WAL, as of the last <see cref="FlushCommit"/>, holds enough frames not yet copied to checkpoint.</summary>
    public bool CheckpointDue => _uncopiedFrames >= CheckpointFrames;

    /// <summary>
    /// Makes everything committed so far durable. <paramref name="paced"/> spreads the new
    /// frames' write-back over <see cref="StepPause"/> per <see cref="StepBytes"/>; a recorder
    /// that is behind passes false and syncs at once.
    /// </summary>
    public void FlushCommit(bool paced)
    {
        // No WAL: SQLite deleted it after copying it into the database file and syncing that.
        if (!File.Exists(_wal.Path)) return;
        var wal = _wal.Handle();
        var fd = (int)wal.DangerousGetHandle();
        Span<byte> header = stackalloc byte[BackfillOffset + 4];
        if (TryReadIndex(header) && TryParseIndexHeader(header, out var frames, out var pageSize, out var salt))
        {
            _uncopiedFrames = frames - BinaryPrimitives.ReadUInt32LittleEndian(header[BackfillOffset..]);
            var end = WalHeaderBytes + frames * (pageSize + FrameHeaderBytes);
            // A new salt means SQLite started the WAL over from its first frame.
            var from = salt != _salt || end < _flushedEnd ? 0 : _flushedEnd;
            if (paced) new WriteBackSteps(this, fd).Range(from & ~4095L, end);
            _flushedEnd = end;
            _salt = salt;
        }
        else
        {
            // Without the index, by the file's size (it only shrinks when SQLite deletes it).
            _uncopiedFrames = (RandomAccess.GetLength(wal) - WalHeaderBytes) / (4096 + FrameHeaderBytes);
        }
        DataSync(fd, _wal.Path);
        Interlocked.Increment(ref _flushes);
    }

    /// <summary>
    /// Copies the WAL into the database file on <paramref name="connection"/> (the recorder's,
    /// outside a transaction), its write-back <paramref name="paced"/> as in <see cref="FlushCommit"/>,
    /// while a second connection keeps the WAL from being started over until the database file is synced.
    /// </summary>
    public async Task CheckpointAsync(DbConnection connection, bool paced, CancellationToken cancellationToken)
    {
        var pageSize = 0;
        var pages = paced ? ReadPagesToBackfill(out pageSize) : null;
        await using var pin = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = _databasePath, Pooling = false }.ConnectionString);
        await pin.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (var read = pin.CreateCommand())
        {
            read.CommandText = "BEGIN; SELECT COUNT(*) FROM sqlite_master;"; // a read transaction that sees every frame
            await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        }
        await using (var checkpoint = connection.CreateCommand())
        {
            checkpoint.CommandText = "PRAGMA synchronous=OFF; PRAGMA wal_checkpoint(PASSIVE);";
            await checkpoint.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        var fd = (int)_database.Handle().DangerousGetHandle();
        if (pages is not null) PaceWriteBack(fd, pages, pageSize);
        DataSync(fd, _database.Path);
        await using (var end = pin.CreateCommand())
        {
            end.CommandText = "COMMIT;";
            await end.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        Interlocked.Increment(ref _checkpoints);
    }

    /// <summary>Starts the write-back of the given database pages, a step at a time.</summary>
    private void PaceWriteBack(int fd, uint[] pages, int pageSize)
    {
        Array.Sort(pages);
        var steps = new WriteBackSteps(this, fd);
        long runStart = 0, runEnd = 0;
        foreach (var page in pages)
        {
            var start = (page - 1L) * pageSize;
            if (start == runEnd)
            {
                runEnd += pageSize;
                continue;
            }
            if (start < runEnd) continue; // the same page again
            steps.Range(runStart, runEnd);
            (runStart, runEnd) = (start, start + pageSize);
        }
        steps.Range(runStart, runEnd);
    }

    /// <summary>
    /// Starts the write-back of file ranges <see cref="StepBytes"/> at a time, <see cref="StepPause"/>
    /// apart; ranges given one after another share steps, and no pause follows the last.
    /// </summary>
    private struct WriteBackSteps(PacedSqliteSync owner, int fd)
    {
        private long _inStep;

        public void Range(long start, long end)
        {
            for (var at = start; at < end;)
            {
                if (_inStep == StepBytes)
                {
                    Pause();
                    _inStep = 0;
                }
                var length = Math.Min(end - at, StepBytes - _inStep);
                owner.StartWriteBack(fd, at, length);
                at += length;
                _inStep += length;
            }
        }
    }

    /// <summary>The database pages of the frames not yet copied into the database file; null when the index cannot be read.</summary>
    private uint[]? ReadPagesToBackfill(out int pageSize)
    {
        pageSize = 0;
        Span<byte> header = stackalloc byte[BackfillOffset + 4];
        if (!TryReadIndex(header) || !TryParseIndexHeader(header, out var frames, out pageSize, out _)) return null;
        var backfilled = BinaryPrimitives.ReadUInt32LittleEndian(header[BackfillOffset..]);
        if (frames <= backfilled) return [];
        var length = (int)IndexPageOffset(frames) + 4;
        var index = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            if (!TryReadIndex(index.AsSpan(0, length))) return null;
            return PagesOfFrames(index.AsSpan(0, length), backfilled + 1, frames);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(index);
        }
    }

    /// <summary>The database page number of each frame from <paramref name="first"/> to <paramref name="last"/>, as the WAL index lists them.</summary>
    internal static uint[] PagesOfFrames(ReadOnlySpan<byte> index, long first, long last)
    {
        var pages = new uint[last - first + 1];
        for (var frame = first; frame <= last; frame++)
            pages[frame - first] = BinaryPrimitives.ReadUInt32LittleEndian(index[(int)IndexPageOffset(frame)..]);
        return pages;
    }

    /// <summary>Where the WAL index keeps frame <paramref name="frame"/>'s page number.</summary>
    private static long IndexPageOffset(long frame)
    {
        if (frame <= FirstBlockPages) return FirstPageListOffset + (frame - 1) * 4;
        var later = frame - FirstBlockPages - 1;
        return IndexBlockBytes * (1 + later / IndexBlockPages) + later % IndexBlockPages * 4;
    }

    private bool TryReadIndex(Span<byte> into)
    {
        try
        {
            return RandomAccess.Read(_index.Handle(), into, 0) == into.Length;
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>
    /// Reads the WAL index header: two copies that agree, initialized, then the page size
    /// (1 stands for 65,536) at byte 14 and the last valid frame at byte 16, in the machine's
    /// byte order, and the WAL's salt at byte 32.
    /// </summary>
    internal static bool TryParseIndexHeader(ReadOnlySpan<byte> header, out long frames, out int pageSize, out ulong salt)
    {
        (frames, pageSize, salt) = (0, 0, 0);
        if (header.Length < 2 * IndexHeaderBytes || !header[..IndexHeaderBytes].SequenceEqual(header[IndexHeaderBytes..(2 * IndexHeaderBytes)])
            || header[12] != 1 || !BitConverter.IsLittleEndian)
            return false;
        int size = BinaryPrimitives.ReadUInt16LittleEndian(header[14..]);
        pageSize = size == 1 ? 65536 : size;
        frames = BinaryPrimitives.ReadUInt32LittleEndian(header[16..]);
        salt = BinaryPrimitives.ReadUInt64LittleEndian(header[32..]);
        return pageSize >= 512;
    }

    private static void Pause() => Thread.Sleep(StepPause);

    private void StartWriteBack(int fd, long offset, long length)
    {
        _ = NativeMethods.sync_file_range(fd, offset, length, SyncFileRangeWrite); // a hint: its failure changes nothing
        _writtenBack += length;
    }

    private static void DataSync(int fd, string path)
    {
        if (NativeMethods.fdatasync(fd) != 0)
            Environment.FailFast($"fdatasync of {path} failed with errno {Marshal.GetLastPInvokeError()}: what reached the disk is unknown; " +
                "stopping so that the next start recovers from what is durable");
    }

    /// <summary>A file kept open (see the class comment), opened again once SQLite has deleted it.</summary>
    private sealed class OpenFile(string path)
    {
        private SafeFileHandle? _handle;

        public string Path { get; } = path;

        public SafeFileHandle Handle()
        {
            if (_handle is not null && !IsDeleted(_handle)) return _handle;
            // The old one is a deleted file that no connection uses any more: closing it drops no lock that matters.
            _handle?.Dispose();
            return _handle = File.OpenHandle(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }

        private static bool IsDeleted(SafeFileHandle handle) =>
            new FileInfo($"/proc/self/fd/{handle.DangerousGetHandle()}").LinkTarget?.EndsWith(" (deleted)", StringComparison.Ordinal) ?? true;
    }

    private static class NativeMethods
    {
        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int sync_file_range(int fd, long offset, long nbytes, uint flags);

        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int fdatasync(int fd);
    }
}
