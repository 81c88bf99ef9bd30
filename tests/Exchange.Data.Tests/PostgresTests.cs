using Exchange.Engine;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Data.Tests;

/// <summary>The same model, migrations and recorder on a real PostgreSQL: rows equal SQLite's, constraints hold.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresTests(PostgresServer server)
{
    [PostgresFact]
    public async Task Migrations_create_the_database_and_the_cursor_row()
    {
        await using var test = await TestDatabase.CreateAsync(databaseUrl: server.NewDatabaseUrl());
        await using var db = test.Context();
        Assert.IsType<PostgresExchangeDbContext>(db);
        Assert.Empty(await db.Database.GetPendingMigrationsAsync());
        Assert.Equal(0, (await db.RecorderCursors.SingleAsync()).LastEventSequence);
        var columnType = await db.Database.SqlQueryRaw<string>(
            "SELECT data_type || '(' || numeric_precision || ',' || numeric_scale || ')' AS \"Value\" FROM information_schema.columns WHERE table_name = 'Trades' AND column_name = 'OpenPrice'")
            .SingleAsync();
        Assert.Equal("numeric(20,8)", columnType);
    }

    [PostgresFact]
    public async Task Recorded_events_give_the_same_rows_as_on_SQLite_and_replays_change_nothing()
    {
        var script = EngineScript.TwoTraders();
        await using var sqlite = await TestDatabase.CreateAsync();
        await using var postgres = await TestDatabase.CreateAsync(databaseUrl: server.NewDatabaseUrl());
        var orderId = Guid.NewGuid();
        foreach (var test in new[] { sqlite, postgres })
        {
            var recorder = await test.StartRecorderAsync(new EventRecorderOptions { MaxBatch = 5 });
            recorder.OnEvents(script.Events, replayed: false);
            recorder.RecordOrder(new OrderRecord(orderId, EngineScript.User(1).Value, "CREATE_TRADE", "{}",
                OrderStatus.Success, "OK", "Operation completed", "{}", 640, 5, script.Now, "key-1"));
            recorder.OnEvents(script.Events, replayed: true);
            await recorder.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        var dump = await postgres.DumpAsync();
        Assert.Equal(await sqlite.DumpAsync(), dump);
        Assert.Contains("420.83", dump, StringComparison.Ordinal);

        await using var db = postgres.Context();
        var trade = await db.Trades.SingleAsync(t => t.TradeId == EngineScript.Trade(1).ToString());
        Assert.Equal(96_425.00000000m, trade.OpenPrice);
        Assert.Equal(420.83m, trade.Pnl);
    }

    [PostgresFact]
    public async Task Email_and_idempotency_key_indexes_hold()
    {
        await using var test = await TestDatabase.CreateAsync(databaseUrl: server.NewDatabaseUrl());
        await using (var db = test.Context())
        {
            db.Users.Add(new User { Id = Guid.NewGuid(), Email = "Trader@Example.com", PasswordHash = "h", CreatedAtMs = 1 });
            await db.SaveChangesAsync();
        }
        await using (var db = test.Context())
        {
            db.Users.Add(new User { Id = Guid.NewGuid(), Email = "TRADER@example.com", PasswordHash = "h", CreatedAtMs = 2 });
            await Assert.ThrowsAsync<DbUpdateException>(() => db.SaveChangesAsync());
        }

        var user = Guid.NewGuid();
        Order NewOrder(string? key) => new()
        {
            OrderId = Guid.NewGuid(), UserId = user, Command = "CLOSE_TRADE", PayloadJson = "{}", Status = OrderStatus.Rejected,
            Code = RejectCode.TradeNotFound.Name(), CreatedAtMs = 1, IdempotencyKey = key,
        };
        await using (var db = test.Context())
        {
            db.Orders.AddRange(NewOrder("k"), NewOrder(null), NewOrder(null));
            await db.SaveChangesAsync();
        }
        await using (var db = test.Context())
        {
            db.Orders.Add(NewOrder("k"));
            await Assert.ThrowsAsync<DbUpdateException>(() => db.SaveChangesAsync());
        }
    }
}
