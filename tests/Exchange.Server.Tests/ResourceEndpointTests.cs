using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Exchange.Server.Api;
using Microsoft.Extensions.DependencyInjection;

namespace Exchange.Server.Tests;

/// <summary>The resource endpoints the UI uses: assets, prices, balance, trades, orders; and Idempotency-Key.</summary>
public sealed class ResourceEndpointTests : IAsyncLifetime
{
    private readonly ExchangeApp _app = new();

    public Task InitializeAsync() => _app.MarketAsync();

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task Assets_and_prices_are_public()
    {
        var client = _app.CreateClient();
        var assets = (await client.GetFromJsonAsync<JsonArray>("/api/v1/assets"))!;
        Assert.Equal(["BTC_USDC", "ETH_USDC", "SOL_USDC"], assets.Select(a => a!["symbol"]!.GetValue<string>()));
        Assert.Equal(100, assets[0]!["maxLeverage"]!.GetValue<int>());
        Assert.Equal(0.005m, assets[0]!["maintenanceMarginRate"].Dec());

        var prices = (await client.GetFromJsonAsync<JsonArray>("/api/v1/prices"))!;
        var sol = prices.Single(p => p!["asset"]!.GetValue<string>() == "SOL_USDC")!;
        Assert.Equal(239.90m, sol["bid"].Dec());
        Assert.Equal(240.00m, sol["ask"].Dec());
    }

    [Fact]
    public async Task Open_list_close_and_history_through_the_trades_resource()
    {
        var trader = await _app.TraderAsync();
        var created = await trader.Client.PostAsJsonAsync("/api/v1/trades",
            new { asset = "BTC_USDC", direction = "SHORT", margin = 500, leverage = 50 });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var trade = (await created.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(96_425m, trade["liquidationPrice"].Dec());
        var tradeId = trade["tradeId"]!.GetValue<string>();

        await _app.TickAsync("BTC_USDC", 95_500m, 95_510m);
        var open = (await trader.GetJsonAsync("/api/v1/trades?status=open"))["trades"]!.AsArray();
        var row = Assert.Single(open)!;
        Assert.Equal(tradeId, row["tradeId"]!.GetValue<string>());
        Assert.Equal(95_510m, row["markPrice"].Dec());
        Assert.Equal(-134.22m, row["unrealizedPnl"].Dec()); // (95,000 − 95,510) × 0.26315789 = −134.2105… → −134.22

        var balance = await trader.GetJsonAsync("/api/v1/balance");
        Assert.Equal(4_500m, balance["balances"]!["USD"].Dec());
        Assert.Equal(500m, balance["lockedMargin"].Dec());

        // The ask crosses the liquidation price: the engine closes it, the recorder writes history.
        await _app.TickAsync("BTC_USDC", 96_420m, 96_430m);
        await _app.RecordedAsync();
        Assert.Empty((await trader.GetJsonAsync("/api/v1/trades?status=open"))["trades"]!.AsArray());
        var closed = (await trader.GetJsonAsync("/api/v1/trades?status=closed"))["trades"]!.AsArray();
        var history = Assert.Single(closed)!;
        Assert.Equal("LIQUIDATION", history["closeReason"]!.GetValue<string>());
        Assert.Equal(96_430m, history["closePrice"].Dec());
        Assert.Equal(-376.32m, history["pnl"].Dec());
        Assert.Equal(0m, history["payout"].Dec());
    }

    [Fact]
    public async Task Manual_close_through_the_resource_returns_the_close_result()
    {
        var trader = await _app.TraderAsync();
        var tradeId = await trader.OpenAsync("SOL_USDC", "LONG", 1000, 10);
        await _app.TickAsync("SOL_USDC", 250.10m, 250.20m);
        var response = await trader.Client.PostAsync($"/api/v1/trades/{tradeId}/close", null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var close = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(420.83m, close["pnl"].Dec());
        Assert.Equal(1420.83m, close["totalReturn"].Dec());

        var again = await trader.Client.PostAsync($"/api/v1/trades/{tradeId}/close", null);
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
    }

    [Fact]
    public async Task Every_order_can_be_looked_up_by_its_id()
    {
        var trader = await _app.TraderAsync();
        var reply = await trader.EngineOkAsync(new { command = "CREATE_TRADE", asset = "ETH_USDC", direction = "LONG", margin = 100, leverage = 3 });
        var orderId = reply["orderId"]!.GetValue<string>();
        var rejected = await trader.EngineAsync(new { command = "CREATE_TRADE", asset = "ETH_USDC", direction = "LONG", margin = 100, leverage = 300 });
        var rejectedId = (await rejected.ProblemAsync())["orderId"]!.GetValue<string>();

        var order = await trader.GetJsonAsync($"/api/v1/orders/{orderId}");
        Assert.Equal("CREATE_TRADE", order["command"]!.GetValue<string>());
        Assert.Equal("success", order["status"]!.GetValue<string>());
        Assert.Equal(3_500m, order["data"]!["openPrice"].Dec());

        var failed = await trader.GetJsonAsync($"/api/v1/orders/{rejectedId}");
        Assert.Equal("rejected", failed["status"]!.GetValue<string>());
        Assert.Equal("LEVERAGE_OUT_OF_RANGE", failed["code"]!.GetValue<string>());

        Assert.Equal(HttpStatusCode.NotFound, (await trader.Client.GetAsync($"/api/v1/orders/{Guid.NewGuid()}")).StatusCode);
    }

    [Fact]
    public async Task A_made_up_order_id_is_answered_from_the_database_without_waiting_for_anyone_elses_orders()
    {
        var (trader, other) = (await _app.TraderAsync(), await _app.TraderAsync());
        await trader.OpenAsync();
        await _app.RecordedAsync();
        await using var stuck = await _app.HoldDatabaseWriteLockAsync();
        await other.OpenAsync(); // waits in the recorder's queue

        // A fresh UUIDv7 looks like an order of a moment ago, but this trader has none waiting: no early commit.
        var madeUp = await trader.Client.GetAsync($"/api/v1/orders/{Guid.CreateVersion7()}");

        Assert.Equal(HttpStatusCode.NotFound, madeUp.StatusCode);
    }

    [Fact]
    public async Task A_retry_with_the_same_idempotency_key_returns_the_first_outcome_and_opens_one_trade()
    {
        var trader = await _app.TraderAsync();
        var key = Guid.NewGuid().ToString();
        async Task<JsonObject> Send()
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/engine")
            {
                Content = JsonContent.Create(new { command = "CREATE_TRADE", asset = "SOL_USDC", direction = "LONG", margin = 100, leverage = 5 }),
            };
            request.Headers.Add("Idempotency-Key", key);
            var response = await trader.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        }

        var replies = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => Send()));
        Assert.Single(replies.Select(r => r["orderId"]!.GetValue<string>()).Distinct());
        Assert.Single((await trader.GetJsonAsync("/api/v1/trades?status=open"))["trades"]!.AsArray());
        Assert.Equal(4_900m, (await trader.GetJsonAsync("/api/v1/balance"))["balances"]!["USD"].Dec());
    }

    [Fact]
    public async Task An_idempotency_key_reused_for_a_different_request_is_422_and_changes_nothing()
    {
        var trader = await _app.TraderAsync();
        var key = Guid.NewGuid().ToString();
        var first = await SendWithKey(trader, "/api/v1/engine", key,
            new { command = "CREATE_TRADE", asset = "SOL_USDC", direction = "LONG", margin = 100, leverage = 5 });
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var tradeId = (await first.Content.ReadFromJsonAsync<JsonObject>())!["engineResponse"]!["data"]!["tradeId"]!.GetValue<string>();

        var otherTrade = await SendWithKey(trader, "/api/v1/engine", key,
            new { command = "CREATE_TRADE", asset = "BTC_USDC", direction = "SHORT", margin = 3_000, leverage = 50 });
        var close = await SendWithKey(trader, $"/api/v1/trades/{tradeId}/close", key, null);
        var sameAgain = await SendWithKey(trader, "/api/v1/trades", key,
            new { asset = "SOL_USDC", direction = "long", margin = 100.00m, leverage = 5 }); // the same order, spelt another way

        foreach (var refused in new[] { otherTrade, close })
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
            Assert.Equal("IDEMPOTENCY_KEY_REUSED", (await refused.ProblemAsync())["code"]!.GetValue<string>());
        }
        Assert.Equal(HttpStatusCode.Created, sameAgain.StatusCode);
        Assert.Equal(tradeId, (await sameAgain.Content.ReadFromJsonAsync<JsonObject>())!["tradeId"]!.GetValue<string>());
        var open = Assert.Single((await trader.GetJsonAsync("/api/v1/trades?status=open"))["trades"]!.AsArray());
        Assert.Equal(tradeId, open!["tradeId"]!.GetValue<string>());
        Assert.Equal(4_900m, (await trader.GetJsonAsync("/api/v1/balance"))["balances"]!["USD"].Dec());
    }

    [Fact]
    public async Task A_close_retried_through_the_other_route_with_the_id_in_other_case_gets_its_first_outcome()
    {
        var trader = await _app.TraderAsync();
        var tradeId = await trader.OpenAsync("SOL_USDC", "LONG", 100, 5);
        var key = Guid.NewGuid().ToString();

        var first = await SendWithKey(trader, "/api/v1/engine", key, new { command = "CLOSE_TRADE", tradeId = tradeId.ToUpperInvariant() });
        var retry = await SendWithKey(trader, $"/api/v1/trades/{tradeId}/close", key, null);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        var closed = (await first.Content.ReadFromJsonAsync<JsonObject>())!["engineResponse"]!["data"]!.ToJsonString();
        Assert.Equal(closed, (await retry.Content.ReadFromJsonAsync<JsonObject>())!.ToJsonString()); // the first close, not a second attempt
    }

    [Fact]
    public async Task A_key_forgotten_while_its_order_waits_for_the_database_is_retried_without_a_second_trade()
    {
        var (trader, key, first, stuck) = await KeyForgottenWhileTheDatabaseIsStuckAsync(_app);
        await using var _ = stuck;

        var retry = KeyedOrderAsync(trader, key);
        await Task.Delay(300);
        Assert.False(retry.IsCompleted); // waits for the database instead of trading again
        await stuck.ReleaseAsync();

        Assert.Equal(first["orderId"]!.GetValue<string>(), (await retry)["orderId"]!.GetValue<string>());
        Assert.Single((await trader.GetJsonAsync("/api/v1/trades?status=open"))["trades"]!.AsArray());
        Assert.Equal(4_900m, (await trader.GetJsonAsync("/api/v1/balance"))["balances"]!["USD"].Dec());
    }

    /// <summary>
    /// With one key remembered: a trader's keyed order, then another trader's, which makes the
    /// first key forgotten while the database (its write lock held) has not taken the order.
    /// </summary>
    internal static async Task<(Trader Trader, string Key, JsonObject First, DatabaseWriteLock Stuck)> KeyForgottenWhileTheDatabaseIsStuckAsync(ExchangeApp app)
    {
        app.Services.GetRequiredService<OrderEntry>().RememberedKeys = 1;
        var (trader, other) = (await app.TraderAsync(), await app.TraderAsync());
        await app.RecordedAsync();
        var key = Guid.NewGuid().ToString();
        var stuck = await app.HoldDatabaseWriteLockAsync();
        var first = await KeyedOrderAsync(trader, key);
        await KeyedOrderAsync(other, Guid.NewGuid().ToString());
        return (trader, key, first, stuck);
    }

    internal static readonly object SolLong = new { command = "CREATE_TRADE", asset = "SOL_USDC", direction = "LONG", margin = 100, leverage = 5 };

    private static async Task<JsonObject> KeyedOrderAsync(Trader trader, string key)
    {
        var response = await SendWithKey(trader, "/api/v1/engine", key, SolLong);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    internal static async Task<HttpResponseMessage> SendWithKey(Trader trader, string path, string key, object? body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = body is null ? null : JsonContent.Create(body) };
        request.Headers.Add("Idempotency-Key", key);
        return await trader.Client.SendAsync(request);
    }
}
