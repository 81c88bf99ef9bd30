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

    /// <summary>Each column of the row as SQLite holds it: storage class and literal (typeof and quote).</summary>
    private async Task<List<string>> StoredAsync(string id)
    {
        await using var db = _test.Context();
        var connection = db.Database.GetDbConnection();
        await connection.OpenAsync();
        var columns = new List<string>();
        await using (var info = connection.CreateCommand())
        {
            info.CommandText = "SELECT name FROM pragma_table_info('Trades') ORDER BY cid";
            await using var names = await info.ExecuteReaderAsync();
            while (await names.ReadAsync()) columns.Add(names.GetString(0));
        }
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT " + string.Join(", ", columns.Select(c => $"typeof(\"{c}\") || ':' || quote(\"{c}\")")) +
                              " FROM \"Trades\" WHERE \"TradeId\" = @id";
        var parameter = command.CreateParameter();
        parameter.ParameterName = "@id";
        parameter.Value = id;
        command.Parameters.Add(parameter);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        return Enumerable.Range(0, reader.FieldCount)
            .Select(i => columns[i] == "TradeId" ? "(id)" : $"{columns[i]}={reader.GetString(i)}")
            .ToList();
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
}
