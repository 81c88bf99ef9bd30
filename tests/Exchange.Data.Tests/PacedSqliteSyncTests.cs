using System.Buffers.Binary;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Data.Tests;

public sealed class PacedSqliteSyncTests : IAsyncLifetime
{
    private TestDatabase _test = null!;

    public async Task InitializeAsync() => _test = await TestDatabase.CreateAsync();

    public async Task DisposeAsync() => await _test.DisposeAsync();

    [Fact]
    public async Task The_wal_index_gives_the_page_size_the_frames_and_each_frames_page_as_sqlite_wrote_them()
    {
        var path = Path.Combine(_test.Directory, "index.db");
        await using var connection = await OpenWalDatabaseAsync(path, pageSize: 512);
        for (var i = 0; i < 3; i++) await InsertRowsAsync(connection, 2_000); // more frames than the index's first block lists

        var index = await File.ReadAllBytesAsync(path + "-shm");
        Assert.True(PacedSqliteSync.TryParseIndexHeader(index, out var frames, out var pageSize, out _));
        Assert.Equal(512, pageSize);
        Assert.True(frames > 4_062, $"{frames} frames");
        Assert.Equal(frames, await WalFramesAsync(connection));

        // Each WAL frame starts with its page number (big-endian); the index must list the same ones.
        var wal = await File.ReadAllBytesAsync(path + "-wal");
        var written = Enumerable.Range(0, (int)frames)
            .Select(i => BinaryPrimitives.ReadUInt32BigEndian(wal.AsSpan(32 + i * (pageSize + 24))))
            .ToArray();
        Assert.Equal(written, PacedSqliteSync.PagesOfFrames(index, 1, frames));
    }

    [Fact]
    public void A_header_whose_two_copies_differ_or_that_is_not_initialized_is_not_used_and_page_size_1_means_65536()
    {
        var header = new byte[96];
        header[12] = 1; // initialized
        header[15] = 0x10; // page size 4,096
        header[16] = 7; // 7 frames
        header.AsSpan(0, 48).CopyTo(header.AsSpan(48));
        Assert.True(PacedSqliteSync.TryParseIndexHeader(header, out var frames, out var pageSize, out _));
        Assert.Equal((7, 4096), (frames, pageSize));

        var torn = (byte[])header.Clone();
        torn[16 + 48] = 8; // a writer between the two copies
        Assert.False(PacedSqliteSync.TryParseIndexHeader(torn, out _, out _, out _));

        Assert.False(PacedSqliteSync.TryParseIndexHeader(new byte[96], out _, out _, out _));

        var largest = (byte[])header.Clone();
        largest[14] = 1; // 65,536 does not fit the field: SQLite writes 1
        largest[15] = 0;
        largest.AsSpan(0, 48).CopyTo(largest.AsSpan(48));
        Assert.True(PacedSqliteSync.TryParseIndexHeader(largest, out _, out var largestPage, out _));
        Assert.Equal(65_536, largestPage);
    }

    [Fact]
    public async Task A_paced_checkpoint_copies_every_frame_and_lets_the_next_commit_start_the_wal_over()
    {
        var path = Path.Combine(_test.Directory, "checkpoint.db");
        await using var connection = await OpenWalDatabaseAsync(path, pageSize: 4096);
        var sync = new PacedSqliteSync(path);
        await InsertRowsAsync(connection, 3_000);
        sync.FlushCommit(paced: true);
        var before = await File.ReadAllBytesAsync(path + "-shm");
        Assert.True(PacedSqliteSync.TryParseIndexHeader(before, out var frames, out _, out var salt));

        var writtenBack = sync.WrittenBackBytes;
        Assert.True(writtenBack >= frames * 4096, $"{writtenBack} bytes for {frames} frames"); // the commit's frames, in steps

        await sync.CheckpointAsync(connection, paced: true, CancellationToken.None);

        Assert.Equal(1, sync.Checkpoints);
        Assert.True(sync.WrittenBackBytes - writtenBack >= 3_000 * 400, "the copied pages, in steps");
        await InsertRowsAsync(connection, 10);
        Assert.True(PacedSqliteSync.TryParseIndexHeader(await File.ReadAllBytesAsync(path + "-shm"), out var after, out _, out var newSalt));
        Assert.NotEqual(salt, newSalt); // started over: nothing held the WAL after the checkpoint
        Assert.True(after < frames, $"{after} frames after, {frames} before");

        await using var fresh = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ConnectionString);
        await fresh.OpenAsync();
        Assert.Equal(3_010L, await ScalarAsync(fresh, "SELECT COUNT(*) FROM Rows;"));
    }

    /// <summary>What the unsynced checkpoint relies on: copied frames are not overwritten while a reader holds the WAL.</summary>
    [Fact]
    public async Task A_reader_that_sees_every_frame_keeps_the_wal_from_starting_over_after_a_checkpoint()
    {
        var path = Path.Combine(_test.Directory, "pin.db");
        await using var writer = await OpenWalDatabaseAsync(path, pageSize: 4096);
        await InsertRowsAsync(writer, 500);
        await using var pin = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ConnectionString);
        await pin.OpenAsync();
        await ExecuteAsync(pin, "BEGIN; SELECT COUNT(*) FROM sqlite_master;");
        var (frames, salt) = await IndexAsync(path);
        await ExecuteAsync(writer, "PRAGMA wal_checkpoint(PASSIVE);");

        await InsertRowsAsync(writer, 10);
        var (held, heldSalt) = await IndexAsync(path);
        Assert.Equal(salt, heldSalt);
        Assert.True(held > frames); // appended after the copied frames

        await ExecuteAsync(pin, "COMMIT;");
        await ExecuteAsync(writer, "PRAGMA wal_checkpoint(PASSIVE);");
        await InsertRowsAsync(writer, 10);
        var (_, freedSalt) = await IndexAsync(path);
        Assert.NotEqual(salt, freedSalt);
    }

    [Fact]
    public async Task The_recorder_syncs_and_checkpoints_itself_and_hands_pooled_connections_back_at_full_sync()
    {
        var script = EngineScript.TwoTraders();
        var recorder = await _test.StartRecorderAsync();
        var half = script.Events.Count / 2;
        recorder.OnEvents(script.Events.Take(half).ToList(), replayed: false);
        await recorder.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var sync = recorder.SqliteSync;
        Assert.Equal(PacedSqliteSync.IsSupported, sync is not null); // sync_file_range is Linux only
        if (sync is null) return;
        var flushes = sync.Flushes;
        Assert.True(flushes > 0);
        sync.CheckpointFrames = 1;

        // Closing every pooled connection checkpoints and deletes the WAL; the next commit starts a new file.
        // A flush completes inside the batch's transaction, so the recorder may still be handing its
        // connection back to the pool: clear again until that one is closed too.
        var wal = Path.Combine(_test.Directory, DatabaseSettings.SqliteFileName + "-wal");
        for (var attempt = 0; attempt < 250; attempt++)
        {
            SqliteConnection.ClearAllPools();
            if (!File.Exists(wal)) break;
            await Task.Delay(20);
        }
        Assert.False(File.Exists(wal));
        recorder.OnEvents(script.Events.Skip(half).ToList(), replayed: false);
        await recorder.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(sync.Flushes > flushes);
        Assert.True(sync.Checkpoints > 0);
        Assert.Equal(EngineScript.LastSequence(script.Events), recorder.RecordedEventSequence);

        await using var db = _test.Context();
        Assert.Equal(2, await db.Trades.CountAsync(t => t.Status == TradeStatus.Closed));
        await db.Database.OpenConnectionAsync();
        var connection = (SqliteConnection)db.Database.GetDbConnection();
        Assert.Equal(2L, await ScalarAsync(connection, "PRAGMA synchronous;")); // FULL
        Assert.Equal(20_000L, await ScalarAsync(connection, "PRAGMA wal_autocheckpoint;"));
    }

    private static async Task<(long Frames, ulong Salt)> IndexAsync(string path)
    {
        Assert.True(PacedSqliteSync.TryParseIndexHeader(await File.ReadAllBytesAsync(path + "-shm"), out var frames, out _, out var salt));
        return (frames, salt);
    }

    private static async Task<SqliteConnection> OpenWalDatabaseAsync(string path, int pageSize)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await ExecuteAsync(connection, $"PRAGMA page_size={pageSize}; PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; " +
            "CREATE TABLE Rows (Id INTEGER PRIMARY KEY, Text TEXT);");
        return connection;
    }

    private static Task InsertRowsAsync(SqliteConnection connection, int rows) => ExecuteAsync(connection,
        $"INSERT INTO Rows (Text) SELECT printf('%.400c', 'x') FROM (WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < {rows}) SELECT k FROM n);");

    /// <summary>The frames in the WAL, as SQLite reports them (a passive checkpoint answers busy, frames, frames copied).</summary>
    private static async Task<long> WalFramesAsync(SqliteConnection connection)
    {
        await using var checkpoint = connection.CreateCommand();
        checkpoint.CommandText = "PRAGMA wal_checkpoint(PASSIVE);";
        await using var reader = await checkpoint.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        return reader.GetInt64(1);
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<object?> ScalarAsync(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }
}
