using System.Net;
using Exchange.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Exchange.Server.Tests;

/// <summary>What the API's commands leave in the database: every command, every trade, every balance change.</summary>
public sealed class AuditTrailTests : IAsyncLifetime
{
    private readonly ExchangeApp _app = new();

    public Task InitializeAsync() => _app.MarketAsync();

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task Accepted_and_refused_commands_their_trade_and_the_ledger_are_recorded_to_the_cent()
    {
        var trader = await _app.TraderAsync();
        var opened = await trader.EngineOkAsync(new
        {
            command = "CREATE_TRADE", asset = "SOL_USDC", direction = "LONG", margin = 100, leverage = 10, stopLossPrice = 230.5m, takeProfitPrice = 250.75m,
        });
        var tradeId = opened["engineResponse"]!["data"]!["tradeId"]!.GetValue<string>();
        var refused = await trader.EngineAsync(new { command = "CREATE_TRADE", asset = "SOL_USDC", direction = "LONG", margin = 999_999, leverage = 10 });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
        await _app.TickAsync("SOL_USDC", 245m, 245.1m);
        var closed = await trader.EngineOkAsync(new { command = "CLOSE_TRADE", tradeId });
        var balance = await trader.GetJsonAsync("/api/v1/balance");
        await _app.RecordedAsync();

        using var scope = _app.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<ExchangeDbContext>();
        var orders = await db.Orders.AsNoTracking().Where(o => o.UserId == trader.Id).OrderBy(o => o.Sequence).ToListAsync();
        Assert.Equal(["CREATE_ACCOUNT", "CREATE_TRADE", "CREATE_TRADE", "CLOSE_TRADE"], orders.Select(o => o.Command));
        Assert.Equal(["success", "success", "rejected", "success"], orders.Select(o => o.Status));
        Assert.Equal("INSUFFICIENT_BALANCE", orders[2].Code);
        Assert.All(orders, o => Assert.True(o.LatencyMicros >= 0, $"{o.Command} has no latency"));
        Assert.Contains("\"stopLossPrice\"", orders[1].PayloadJson, StringComparison.Ordinal);
        Assert.Equal(opened["orderId"]!.GetValue<string>(), orders[1].OrderId.ToString());

        var trade = await db.Trades.AsNoTracking().SingleAsync(t => t.TradeId == tradeId);
        Assert.Equal(trader.Id, trade.UserId);
        Assert.Equal("closed", trade.Status);
        Assert.Equal("MANUAL", trade.CloseReason);
        Assert.Equal(240.00m, trade.OpenPrice);                    // a LONG opens at the ask
        Assert.Equal(245m, trade.ClosePrice);                      // and closes at the bid
        Assert.Equal(230.5m, trade.StopLossPrice);
        Assert.Equal(250.75m, trade.TakeProfitPrice);
        Assert.Equal(closed["engineResponse"]!["data"]!["pnl"].Dec(), trade.Pnl);
        Assert.Equal(Guid.Parse(closed["orderId"]!.GetValue<string>()), trade.CloseOrderId);

        // The ledger's last row is the balance the API shows.
        var last = await db.Ledger.AsNoTracking().Where(l => l.UserId == trader.Id).OrderByDescending(l => l.EventSequence).FirstAsync();
        Assert.Equal(balance["balances"]!["USD"].Dec(), last.Free);
        Assert.Equal(balance["lockedMargin"].Dec(), last.Locked);
        Assert.Equal(0m, last.Locked);
    }
}
