using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Exchange.Data;

/// <summary>
/// Per-connection SQLite settings, applied each time EF Core opens a connection (a pragma lasts
/// as long as its connection; the pool hands the same ones out again, so this is one cheap
/// statement per open).
/// <list type="bullet">
/// <item><c>temp_store=MEMORY</c>: every multi-row INSERT or UPDATE inside the recorder's
/// transaction keeps a statement journal so it could be undone alone. On disk that is a temp
/// file written page by page; measured at 2,000 commands/s it was most of the server's write
/// system calls (strace), for data that never needs to survive a crash.</item>
/// <item><c>cache_size</c> 16 MiB instead of 2 MiB: the recorder's look-ups of open trades and
/// the history reads hit recent pages.</item>
/// <item><c>wal_autocheckpoint</c> 20,000 pages (~80 MB of WAL) instead of 1,000: every commit
/// touches the current page of each active trader in each per-user index, and a checkpoint
/// copies those pages into the database file and fsyncs it. Checkpointing ten times as much at
/// once writes each hot page once instead of many times, and the journal's fsyncs, which share
/// the disk, wait less often behind it: at 2,000 commands/s the p90 of an HTTP command went
/// from ~11 to ~6.5 ms (docs/benchmarks.md).</item>
/// <item><c>synchronous=FULL</c>, SQLite's default, set again on each open (and the checkpoint
/// setting above): the event recorder changes both on its connection for a batch and does those
/// syncs itself (<see cref="PacedSqliteSync"/>); a pooled connection must not carry that to
/// anyone else.</item>
/// </list>
/// </summary>
internal sealed class SqliteConnectionSettings : DbConnectionInterceptor
{
    public static readonly SqliteConnectionSettings Instance = new();

    /// <summary>Also what the event recorder sets again on its connection after a batch.</summary>
    internal const string Pragmas = "PRAGMA synchronous=FULL; PRAGMA temp_store=MEMORY; PRAGMA cache_size=-16384; PRAGMA wal_autocheckpoint=20000;";

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData)
    {
        using var command = connection.CreateCommand();
        command.CommandText = Pragmas;
        command.ExecuteNonQuery();
    }

    public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData,
        CancellationToken cancellationToken = default)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = Pragmas;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
