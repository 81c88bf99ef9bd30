using System.Net.Http.Json;
using Exchange.Data;
using Microsoft.Extensions.DependencyInjection;

namespace Exchange.Server.Tests;

/// <summary>Stopping and starting the exchange keeps balances, open trades, history and sign-ins.</summary>
public sealed class RestartTests
{
    [Fact]
    public async Task After_a_restart_balances_open_trades_and_history_are_all_there()
    {
        var dataDirectory = Directory.CreateTempSubdirectory("exchange-restart-").FullName;
        string email, keptTrade, closedTrade;
        string balanceBefore;
        await using (var app = new ExchangeApp(dataDirectory))
        {
            await app.MarketAsync();
            var trader = await app.TraderAsync();
            email = trader.Email;
            keptTrade = await trader.OpenAsync("BTC_USDC", "LONG", 250, 4);
            closedTrade = await trader.OpenAsync("SOL_USDC", "SHORT", 100, 10);
            await app.TickAsync("SOL_USDC", 230.00m, 230.10m);
            await trader.EngineOkAsync(new { command = "CLOSE_TRADE", tradeId = closedTrade });
            balanceBefore = (await trader.GetJsonAsync("/api/v1/balance")).ToJsonString();
            await app.Services.GetRequiredService<EventRecorder>().FlushAsync();
        }

        await using var restarted = new ExchangeApp(dataDirectory);
        var client = restarted.CreateClient();
        var signin = await client.PostAsJsonAsync("/api/v1/auth/signin", new { email, password = "correct horse battery" });
        signin.EnsureSuccessStatusCode();
        var again = new Trader(client, email, "", Guid.Empty);

        Assert.Equal(balanceBefore, (await again.GetJsonAsync("/api/v1/balance")).ToJsonString());
        var open = (await again.GetJsonAsync("/api/v1/trades?status=open"))["trades"]!.AsArray();
        Assert.Equal(keptTrade, Assert.Single(open)!["tradeId"]!.GetValue<string>());
        var closed = (await again.GetJsonAsync("/api/v1/trades?status=closed"))["trades"]!.AsArray();
        var row = Assert.Single(closed)!;
        Assert.Equal(closedTrade, row["tradeId"]!.GetValue<string>());
        Assert.Equal("MANUAL", row["closeReason"]!.GetValue<string>());
    }
}
