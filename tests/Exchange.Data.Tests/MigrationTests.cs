using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace Exchange.Data.Tests;

public sealed class MigrationTests
{
    [Fact]
    public async Task Migrations_apply_on_an_empty_database_in_WAL_mode_with_the_cursor_row()
    {
        await using var test = await TestDatabase.CreateAsync(migrate: false);
        var path = Path.Combine(test.Directory, DatabaseSettings.SqliteFileName);
        Assert.False(File.Exists(path));

        await ExchangeDatabase.MigrateAsync(test.Factory);

        await using var db = test.Context();
        Assert.Empty(await db.Database.GetPendingMigrationsAsync());
        Assert.NotEmpty(await db.Database.GetAppliedMigrationsAsync());
        var cursor = Assert.Single(await db.RecorderCursors.ToListAsync());
        Assert.Equal(0, cursor.LastEventSequence);
        Assert.Empty(await db.Trades.ToListAsync());

        await using var connection = new SqliteConnection($"Data Source={path}");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode;";
        Assert.Equal("wal", (string?)await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Migrating_twice_changes_nothing()
    {
        await using var test = await TestDatabase.CreateAsync();
        await ExchangeDatabase.MigrateAsync(test.Factory);
        await using var db = test.Context();
        Assert.Single(await db.RecorderCursors.ToListAsync());
    }

    [Fact]
    public void Both_migration_sets_match_the_model()
    {
        // A model change without `dotnet ef migrations add` for each provider fails here.
        using var sqlite = new ExchangeDbContext(new DbContextOptionsBuilder<ExchangeDbContext>()
            .UseSqlite("Data Source=:memory:").Options);
        Assert.False(sqlite.Database.HasPendingModelChanges());
        Assert.Contains(sqlite.Database.GetMigrations(), m => m.EndsWith("_Initial", StringComparison.Ordinal));

        using var postgres = new PostgresExchangeDbContext(new DbContextOptionsBuilder<PostgresExchangeDbContext>()
            .UseNpgsql("Host=localhost;Database=unused").Options);
        Assert.False(postgres.Database.HasPendingModelChanges());
        Assert.Contains(postgres.Database.GetMigrations(), m => m.EndsWith("_Initial", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Upgrading_keeps_the_orders_and_lets_a_re_created_one_have_no_latency()
    {
        await using var test = await TestDatabase.CreateAsync(migrate: false);
        await using (var db = test.Context())
        {
            // The schema as the release before orders came from the journal left it, with an order in it.
            await db.GetService<Microsoft.EntityFrameworkCore.Migrations.IMigrator>().MigrateAsync("SignedOutTokens");
            await db.Database.ExecuteSqlRawAsync("""
                INSERT INTO "Orders" ("OrderId", "UserId", "Command", "PayloadJson", "Status", "Code", "LatencyMicros", "Sequence", "CreatedAtMs", "IdempotencyKey")
                VALUES ('11111111-1111-1111-1111-111111111111', '22222222-2222-2222-2222-222222222222', 'CREATE_TRADE', '{{}}', 'success', 'OK', 812, 7, 1700000000000, 'k-1')
                """);
        }

        await ExchangeDatabase.MigrateAsync(test.Factory);

        await using var after = test.Context();
        var kept = Assert.Single(await after.Orders.ToListAsync());
        Assert.Equal((812L, 7L, "k-1"), (kept.LatencyMicros, kept.Sequence, kept.IdempotencyKey));
        Order ReCreated(string key) => new()
        {
            OrderId = Guid.NewGuid(), UserId = kept.UserId, Command = "CREATE_TRADE", PayloadJson = "{}", Status = "success",
            Code = "OK", LatencyMicros = null, Sequence = 8, CreatedAtMs = 1, IdempotencyKey = key,
        };
        after.Orders.Add(ReCreated("k-2"));
        await after.SaveChangesAsync();
        after.Orders.Add(ReCreated("k-1"));
        await Assert.ThrowsAsync<DbUpdateException>(() => after.SaveChangesAsync()); // the key's unique index is back
        Assert.Equal(0, (await after.RecorderCursors.SingleAsync()).LastOrderSequence);
    }
}
