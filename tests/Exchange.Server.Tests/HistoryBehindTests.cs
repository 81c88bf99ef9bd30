using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using static Exchange.Server.Tests.ResourceEndpointTests;

namespace Exchange.Server.Tests;

/// <summary>
/// Reads of the audit trail while the database cannot take writes (its write lock held
/// elsewhere): once HISTORY_WAIT_MS runs out, "not known yet" (503), never a wrong 404 or a second trade.
/// </summary>
public sealed class HistoryBehindTests : IAsyncLifetime
{
    private readonly ExchangeApp _app = new(historyWait: TimeSpan.FromMilliseconds(300));

    public Task InitializeAsync() => _app.MarketAsync();

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task An_order_lookup_answers_503_not_404_while_the_database_cannot_take_writes()
    {
        var trader = await _app.TraderAsync();
        await _app.RecordedAsync();
        await using var stuck = await _app.HoldDatabaseWriteLockAsync();

        var reply = await trader.EngineOkAsync(new { command = "CREATE_TRADE", asset = "ETH_USDC", direction = "LONG", margin = 100, leverage = 3 });
        var orderId = reply["orderId"]!.GetValue<string>();
        var behind = await trader.Client.GetAsync($"/api/v1/orders/{orderId}");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, behind.StatusCode);
        Assert.Equal("ORDER_HISTORY_BEHIND", (await behind.ProblemAsync())["code"]!.GetValue<string>());
        Assert.Equal(TimeSpan.FromSeconds(1), behind.Headers.RetryAfter?.Delta);

        await stuck.ReleaseAsync();
        Assert.Equal("success", (await OrderOnceWrittenAsync(trader, orderId))["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_order_lookup_after_a_balance_query_answers_503_not_404_while_the_database_cannot_take_writes()
    {
        var trader = await _app.TraderAsync();
        await _app.RecordedAsync();
        await using var stuck = await _app.HoldDatabaseWriteLockAsync();

        var trade = (await trader.EngineOkAsync(new { command = "CREATE_TRADE", asset = "ETH_USDC", direction = "LONG", margin = 100, leverage = 3 }))["orderId"]!.GetValue<string>();
        var query = (await trader.EngineOkAsync(new { command = "GET_BALANCE" }))["orderId"]!.GetValue<string>(); // queries have no sequence

        foreach (var orderId in new[] { trade, query })
        {
            var behind = await trader.Client.GetAsync($"/api/v1/orders/{orderId}");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, behind.StatusCode);
        }
        await stuck.ReleaseAsync();
        Assert.Equal("GET_BALANCE", (await OrderOnceWrittenAsync(trader, query))["command"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_retry_of_a_key_forgotten_while_the_database_stays_stuck_is_503_and_trades_nothing()
    {
        var (trader, key, _, stuck) = await KeyForgottenWhileTheDatabaseIsStuckAsync(_app);
        await using var _ = stuck;

        var retry = await SendWithKey(trader, "/api/v1/engine", key, SolLong);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, retry.StatusCode);
        Assert.Equal("ORDER_HISTORY_BEHIND", (await retry.ProblemAsync())["code"]!.GetValue<string>());
        Assert.Equal(TimeSpan.FromSeconds(1), retry.Headers.RetryAfter?.Delta);
        Assert.Single((await trader.GetJsonAsync("/api/v1/trades?status=open"))["trades"]!.AsArray());
    }

    /// <summary>The order once the database takes writes again; within 0.3 s the recorder may not have written it yet (503).</summary>
    private static async Task<JsonObject> OrderOnceWrittenAsync(Trader trader, string orderId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var response = await trader.Client.GetAsync($"/api/v1/orders/{orderId}");
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable || DateTime.UtcNow > deadline)
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
            }
        }
    }
}
