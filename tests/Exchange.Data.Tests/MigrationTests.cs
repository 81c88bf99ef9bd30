using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

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
}
