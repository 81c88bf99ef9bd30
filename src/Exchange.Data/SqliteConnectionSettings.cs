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
/// </list>
/// </summary>
internal sealed class SqliteConnectionSettings : DbConnectionInterceptor
{
    public static readonly SqliteConnectionSettings Instance = new();

    private const string Pragmas = "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-16384;";

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
