using Microsoft.EntityFrameworkCore;

namespace Exchange.Data.Tests;

/// <summary>The recorder's fast path must store values byte for byte as SaveChanges does, or EF queries would miss them.</summary>
public sealed class BulkWriterTests : IAsyncLifetime
{
    private TestDatabase _test = null!;

    public async Task InitializeAsync() => _test = await TestDatabase.CreateAsync();

    public async Task DisposeAsync() => await _test.DisposeAsync();

    private static Trade NewTrade(string id, decimal? stopLoss) => new()
    {
        TradeId = id, UserId = Guid.Parse("0f8fad5b-d9cb-469f-a165-70867728950e"), Asset = "BTC_USDC", Direction = "LONG",
        Margin = 1_234.50m, Leverage = 7, Quantity = 0.00000001m, OpenPrice = 96_425.12345678m, LiquidationPrice = 83_000m,
        StopLossPrice = stopLoss, TakeProfitPrice = null, OpenedAtMs = 1_700_000_000_123, OpenSequence = 42,
        OpenOrderId = Guid.Parse("7c9e6679-7425-40de-944b-e07fc1f90ae7"), Status = TradeStatus.Open,
    };

    /// <summary>
    /// Each column of the row with <paramref name="key"/> as SQLite holds it: storage class and
    /// literal (typeof and quote). The key column is left out: rows compared differ there on purpose.
    /// </summary>
    private async Task<List<string>> StoredAsync(string table, string keyColumn, object key)
    {
        await using var db = _test.Context();
        var connection = db.Database.GetDbConnection();
        await connection.OpenAsync();
        var columns = new List<string>();
        await using (var info = connection.CreateCommand())
        {
            info.CommandText = $"SELECT name FROM pragma_table_info('{table}') ORDER BY cid";
            await using var names = await info.ExecuteReaderAsync();
            while (await names.ReadAsync()) columns.Add(names.GetString(0));
        }
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT " + string.Join(", ", columns.Select(c => $"typeof(\"{c}\") || ':' || quote(\"{c}\")")) +
                              $" FROM \"{table}\" WHERE \"{keyColumn}\" = @key";
        var parameter = command.CreateParameter();
        parameter.ParameterName = "@key";
        parameter.Value = key;
        command.Parameters.Add(parameter);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync(), $"no row in {table} for {key}");
        var stored = Enumerable.Range(0, reader.FieldCount).Where(i => columns[i] != keyColumn)
            .Select(i => $"{columns[i]}={reader.GetString(i)}").ToList();
        Assert.False(await reader.ReadAsync(), $"more than one row in {table} for {key}");
        return stored;
    }

    private Task<List<string>> StoredAsync(string tradeId) => StoredAsync("Trades", "TradeId", tradeId);

    private async Task BulkAsync(Func<BulkWriter, ExchangeDbContext, Task> write)
    {
        await using var db = _test.Context();
        await using var tx = await db.Database.BeginTransactionAsync();
        await write(new BulkWriter(), db);
        await tx.CommitAsync();
    }

    [Fact]
    public async Task Inserted_and_updated_rows_are_stored_exactly_as_SaveChanges_stores_them()
    {
        var viaEf = new string('a', 32);
        var viaBulk = new string('b', 32);
        await using (var db = _test.Context())
        {
            db.Trades.Add(NewTrade(viaEf, stopLoss: 90_000.5m));
            await db.SaveChangesAsync();
        }

        var bulk = new BulkWriter();
        // Enough rows for a re-executed prepared command as well as a remainder command.
        var rows = Enumerable.Range(0, 17).Select(i => NewTrade(i == 16 ? viaBulk : new string((char)('c' + i), 32), 90_000.5m)).ToList();
        await using (var db = _test.Context())
        {
            await using var tx = await db.Database.BeginTransactionAsync();
            await bulk.InsertAsync(db, rows, default);
            await tx.CommitAsync();
        }
        Assert.Equal(await StoredAsync(viaEf), await StoredAsync(viaBulk));

        static void Close(Trade t)
        {
            t.Status = TradeStatus.Closed;
            t.ClosePrice = 97_000.00000001m;
            t.CloseReason = "MANUAL";
            t.Pnl = -0.01m;
            t.Payout = 0m;
            t.ClosedAtMs = 1_700_000_100_000;
            t.CloseOrderId = null;
        }
        await using (var db = _test.Context())
        {
            Close(await db.Trades.SingleAsync(t => t.TradeId == viaEf));
            await db.SaveChangesAsync();
        }
        rows.ForEach(Close);
        await using (var db = _test.Context())
        {
            await using var tx = await db.Database.BeginTransactionAsync();
            await bulk.UpdateAsync(db, rows, [nameof(Trade.Status), nameof(Trade.ClosePrice), nameof(Trade.CloseReason),
                nameof(Trade.Pnl), nameof(Trade.Payout), nameof(Trade.ClosedAtMs), nameof(Trade.CloseOrderId)], default);
            await tx.CommitAsync();
        }
        Assert.Equal(await StoredAsync(viaEf), await StoredAsync(viaBulk));

        await using (var db = _test.Context())
        {
            Assert.Equal(18, await db.Trades.CountAsync(t => t.Status == TradeStatus.Closed && t.UserId == rows[0].UserId));
            Assert.Equal(97_000.00000001m, (await db.Trades.SingleAsync(t => t.TradeId == viaBulk)).ClosePrice);
        }
    }

    private static Order NewOrder(Guid id) => new()
    {
        OrderId = id, UserId = Guid.Parse("0f8fad5b-d9cb-469f-a165-70867728950e"), Command = "CREATE_TRADE",
        PayloadJson = """{"asset":"BTC_USDC","note":"ünïcødé ✓ 🚀"}""", Status = OrderStatus.Success, Code = "",
        Message = "", ResponseJson = null, LatencyMicros = 1_234, Sequence = 9_007_199_254_740_993,
        CreatedAtMs = 1_700_000_000_123, IdempotencyKey = null,
    };

    [Fact]
    public async Task Orders_with_empty_null_and_unicode_text_are_stored_exactly_as_SaveChanges_stores_them()
    {
        var viaEf = Guid.Parse("7c9e6679-7425-40de-944b-e07fc1f90ae7");
        var viaBulk = Guid.Parse("a1b2c3d4-e5f6-4789-abcd-ef0123456789");
        await using (var db = _test.Context())
        {
            db.Orders.Add(NewOrder(viaEf));
            await db.SaveChangesAsync();
        }
        await BulkAsync((bulk, db) => bulk.InsertAsync(db, [NewOrder(viaBulk)], default));

        var stored = await StoredAsync("Orders", "OrderId", viaBulk);
        Assert.Equal(await StoredAsync("Orders", "OrderId", viaEf), stored);
        Assert.Contains("Code=text:''", stored); // empty, not NULL
        Assert.Contains("ResponseJson=null:NULL", stored);

        // EF Core finds the rows by the Guid it was given: the key is stored in the same text form.
        await using var read = _test.Context();
        var found = await read.Orders.AsNoTracking().SingleAsync(o => o.OrderId == viaBulk);
        Assert.Equal("""{"asset":"BTC_USDC","note":"ünïcødé ✓ 🚀"}""", found.PayloadJson);
        Assert.Equal(9_007_199_254_740_993, found.Sequence);
    }

    [Fact]
    public async Task Ledger_rows_and_upserted_candles_are_stored_exactly_as_SaveChanges_stores_them()
    {
        static LedgerEntry Entry(long sequence) => new()
        {
            EventSequence = sequence, UserId = Guid.Parse("0f8fad5b-d9cb-469f-a165-70867728950e"), Free = -12_345_678_901_234.56m,
            Locked = 0.00m, Reason = "TRADE_CLOSED", TradeId = new string('f', 32), OrderId = null, InputSequence = 7, AtMs = 1,
        };
        await using (var db = _test.Context())
        {
            db.Ledger.Add(Entry(1));
            await db.SaveChangesAsync();
        }
        await BulkAsync((bulk, db) => bulk.InsertAsync(db, [Entry(2)], default));
        Assert.Equal(await StoredAsync("Ledger", "EventSequence", 1L), await StoredAsync("Ledger", "EventSequence", 2L));

        static Candle Bar(long openTime, decimal close) => new()
        {
            Asset = "ETH_USDC", IntervalSeconds = 60, OpenTimeMs = openTime, Open = 3_500m, High = 3_612.12345678m, Low = 0.00000001m, Close = close,
        };
        await using (var db = _test.Context())
        {
            db.Candles.Add(Bar(60_000, 3_600.5m));
            await db.SaveChangesAsync();
        }
        await BulkAsync((bulk, db) => bulk.UpsertAsync(db, [Bar(120_000, 1m)], default));
        await BulkAsync((bulk, db) => bulk.UpsertAsync(db, [Bar(120_000, 3_600.5m)], default)); // overwrites the first
        Assert.Equal(await StoredAsync("Candles", "OpenTimeMs", 60_000L), await StoredAsync("Candles", "OpenTimeMs", 120_000L));
    }
}
