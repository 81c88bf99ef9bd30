using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Exchange.Server.Tests;

/// <summary>POST /api/v1/engine: the seed's commands and envelope, end to end through journal and engine.</summary>
public sealed class EngineEndpointTests : IAsyncLifetime
{
    private readonly ExchangeApp _app = new();

    public Task InitializeAsync() => _app.MarketAsync();

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task Create_account_credits_the_demo_balance_in_the_seed_envelope()
    {
        var trader = await _app.TraderAsync(createAccount: false);
        var reply = await trader.EngineOkAsync(new { command = "CREATE_ACCOUNT" });

        Assert.True(reply["success"]!.GetValue<bool>());
        Assert.True(Guid.TryParse(reply["orderId"]!.GetValue<string>(), out _));
        Assert.Equal("success", reply["engineResponse"]!["status"]!.GetValue<string>());
        Assert.Equal(5000m, reply["engineResponse"]!["data"]!["initialUsdBalance"].Dec());
        Assert.True(reply["latency"].Dec() >= 0);
    }

    [Fact]
    public async Task Replies_on_the_order_path_say_their_length_so_each_goes_out_in_one_piece()
    {
        // Over real sockets: the test server would not show how Kestrel frames a reply.
        await using var app = new ExchangeApp();
        app.UseKestrel(0);
        app.StartServer();
        await app.MarketAsync();
        var trader = await app.TraderAsync();

        var envelope = await trader.EngineAsync(new { command = "CREATE_TRADE", asset = "SOL_USDC", direction = "LONG", margin = 100, leverage = 5 });
        var opened = await trader.Client.PostAsJsonAsync("/api/v1/trades", new { asset = "ETH_USDC", direction = "SHORT", margin = 100, leverage = 5 });

        foreach (var reply in new[] { envelope, opened })
        {
            var body = await reply.Content.ReadAsByteArrayAsync();
            Assert.True(reply.IsSuccessStatusCode);
            Assert.NotEqual(true, reply.Headers.TransferEncodingChunked); // no closing chunk to send after the body
            Assert.Equal(body.Length, reply.Content.Headers.ContentLength);
            Assert.Equal("application/json; charset=utf-8", reply.Content.Headers.ContentType!.ToString());
            Assert.Empty(reply.Headers.Server); // what serves the exchange is nobody's business
        }
        Assert.Equal(HttpStatusCode.Created, opened.StatusCode);
        Assert.Equal("/api/v1/trades?status=open", opened.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task Trade_lifecycle_through_the_engine_endpoint_is_exact_to_the_cent()
    {
        var trader = await _app.TraderAsync();
        var open = await trader.EngineOkAsync(new
        {
            command = "CREATE_TRADE", asset = "SOL_USDC", direction = "LONG", margin = 1000, leverage = 10,
            stopLossPrice = 230.50m, takeProfitPrice = 250.75m,
        });
        var data = open["engineResponse"]!["data"]!;
        Assert.Equal(240.00m, data["openPrice"].Dec());
        Assert.Equal(41.66666666m, data["quantity"].Dec());
        Assert.Equal(217.20m, data["liquidationPrice"].Dec());
        Assert.Equal(230.50m, data["stopLossPrice"].Dec());
        Assert.Equal(250.75m, data["takeProfitPrice"].Dec());
        var tradeId = data["tradeId"]!.GetValue<string>();

        var balance = (await trader.EngineOkAsync(new { command = "GET_BALANCE" }))["engineResponse"]!["data"]!;
        Assert.Equal(4000m, balance["balances"]!["USD"].Dec());
        Assert.Equal(1000m, balance["lockedMargin"].Dec());
        Assert.Equal(4000m + 1000m - 4.17m, balance["equity"].Dec()); // (239.90 − 240) × 41.66666666 = −4.1666… → −4.17

        await _app.TickAsync("SOL_USDC", 245.00m, 245.10m);
        var close = (await trader.EngineOkAsync(new { command = "CLOSE_TRADE", tradeId }))["engineResponse"]!["data"]!;
        Assert.Equal(245.00m, close["closePrice"].Dec());
        Assert.Equal(208.33m, close["pnl"].Dec()); // 5 × 41.66666666 = 208.3333333
        Assert.Equal(1000m, close["marginReturned"].Dec());
        Assert.Equal(1208.33m, close["totalReturn"].Dec());

        var usd = (await trader.EngineOkAsync(new { command = "GET_USD_BALANCE" }))["engineResponse"]!["data"]!;
        Assert.Equal(5208.33m, usd["usdBalance"].Dec());
    }

    public static TheoryData<object, HttpStatusCode, string> Rejections => new()
    {
        { new { command = "CREATE_TRADE", asset = "DOGE_USDC", direction = "LONG", margin = 10, leverage = 2 }, HttpStatusCode.BadRequest, "UNKNOWN_ASSET" },
        { new { command = "CREATE_TRADE", asset = "SOL_USDC", direction = "LONG", margin = 10, leverage = 0 }, HttpStatusCode.BadRequest, "LEVERAGE_OUT_OF_RANGE" },
        { new { command = "CREATE_TRADE", asset = "SOL_USDC", direction = "LONG", margin = 10, leverage = 101 }, HttpStatusCode.BadRequest, "LEVERAGE_OUT_OF_RANGE" },
        { new { command = "CREATE_TRADE", asset = "SOL_USDC", direction = "LONG", margin = 10, leverage = 2.5 }, HttpStatusCode.BadRequest, "LEVERAGE_NOT_INTEGER" },
        { new { command = "CREATE_TRADE", asset = "SOL_USDC", direction = "LONG", margin = 0, leverage = 2 }, HttpStatusCode.BadRequest, "MARGIN_NOT_POSITIVE" },
        { new { command = "CREATE_TRADE", asset = "SOL_USDC", direction = "LONG", margin = -5, leverage = 2 }, HttpStatusCode.BadRequest, "MARGIN_NOT_POSITIVE" },
        { new { command = "CREATE_TRADE", asset = "SOL_USDC", direction = "LONG", margin = 10.001, leverage = 2 }, HttpStatusCode.BadRequest, "MARGIN_TOO_PRECISE" },
        { new { command = "CREATE_TRADE", asset = "SOL_USDC", direction = "LONG", margin = 0.5, leverage = 2 }, HttpStatusCode.UnprocessableEntity, "MARGIN_BELOW_MINIMUM" },
        { new { command = "CREATE_TRADE", asset = "SOL_USDC", direction = "LONG", margin = 5000.01, leverage = 2 }, HttpStatusCode.UnprocessableEntity, "INSUFFICIENT_BALANCE" },
        { new { command = "CREATE_TRADE", asset = "SOL_USDC", direction = "LONG", margin = 10, leverage = 2, stopLossPrice = 250 }, HttpStatusCode.UnprocessableEntity, "STOP_LOSS_WRONG_SIDE" },
        { new { command = "CREATE_TRADE", asset = "SOL_USDC", direction = "SHORT", margin = 10, leverage = 2, takeProfitPrice = 250 }, HttpStatusCode.UnprocessableEntity, "TAKE_PROFIT_WRONG_SIDE" },
        { new { command = "CREATE_TRADE", asset = "SOL_USDC", direction = "LONG", margin = 10, leverage = 2, stopLossPrice = -1 }, HttpStatusCode.BadRequest, "TRIGGER_PRICE_INVALID" },
        { new { command = "CREATE_TRADE", asset = "SOL_USDC", direction = "SIDEWAYS", margin = 10, leverage = 2 }, HttpStatusCode.BadRequest, "INVALID_DIRECTION" },
        { new { command = "CREATE_TRADE", asset = "SOL_USDC", direction = "LONG", leverage = 2 }, HttpStatusCode.BadRequest, "MISSING_FIELD" },
        { new { command = "CLOSE_TRADE", tradeId = "0123456789abcdef0123456789abcdef" }, HttpStatusCode.NotFound, "TRADE_NOT_FOUND" },
        { new { command = "CLOSE_TRADE", tradeId = "trade_123456789" }, HttpStatusCode.BadRequest, "INVALID_TRADE_ID" },
        { new { command = "CLOSE_TRADE" }, HttpStatusCode.BadRequest, "MISSING_FIELD" },
        { new { command = "CREATE_ACCOUNT" }, HttpStatusCode.Conflict, "ACCOUNT_EXISTS" },
        { new { command = "TRANSFER_ALL_MONEY" }, HttpStatusCode.BadRequest, "UNKNOWN_COMMAND" },
        { new { asset = "SOL_USDC" }, HttpStatusCode.BadRequest, "MISSING_FIELD" },
    };

    [Theory]
    [MemberData(nameof(Rejections))]
    public async Task Every_engine_rejection_is_a_4xx_problem_with_its_code_and_changes_nothing(object command, HttpStatusCode status, string code)
    {
        var trader = await _app.TraderAsync();
        var before = await trader.GetJsonAsync("/api/v1/balance");

        var response = await trader.EngineAsync(command);

        Assert.Equal(status, response.StatusCode);
        var problem = await response.ProblemAsync();
        Assert.Equal(code, problem["code"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(problem["detail"]!.GetValue<string>()));
        AssertRefusalEnvelope(problem, code);
        Assert.Equal(before.ToJsonString(), (await trader.GetJsonAsync("/api/v1/balance")).ToJsonString());
        Assert.Empty((await trader.GetJsonAsync("/api/v1/trades?status=open"))["trades"]!.AsArray());
    }

    /// <summary>The seed's envelope on a refusal, whether the engine or the input check said no.</summary>
    internal static void AssertRefusalEnvelope(JsonObject problem, string code)
    {
        Assert.False(problem["success"]!.GetValue<bool>());
        Assert.True(problem.ContainsKey("orderId"));
        Assert.Equal("error", problem["engineResponse"]!["status"]!.GetValue<string>());
        Assert.Equal(code, problem["engineResponse"]!["code"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(problem["engineResponse"]!["message"]!.GetValue<string>()));
        Assert.True(problem["latency"]!.GetValue<decimal>() >= 0);
    }

    [Fact]
    public async Task Commands_before_create_account_are_rejected_as_account_not_found()
    {
        var trader = await _app.TraderAsync(createAccount: false);
        var response = await trader.EngineAsync(new { command = "GET_BALANCE" });
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("ACCOUNT_NOT_FOUND", (await response.ProblemAsync())["code"]!.GetValue<string>());
    }

    public static TheoryData<string, string, object?> WithoutAnAccount => new()
    {
        { "POST", "/api/v1/engine", new { command = "GET_USD_BALANCE" } },
        { "POST", "/api/v1/engine", new { command = "CREATE_TRADE", asset = "SOL_USDC", direction = "LONG", margin = 10, leverage = 2 } },
        { "POST", "/api/v1/engine", new { command = "CLOSE_TRADE", tradeId = "0123456789abcdef0123456789abcdef" } },
        { "GET", "/api/v1/balance", null },
        { "GET", "/api/v1/trades?status=open", null },
        { "POST", "/api/v1/trades", new { asset = "SOL_USDC", direction = "LONG", margin = 10, leverage = 2 } },
    };

    [Theory]
    [MemberData(nameof(WithoutAnAccount))]
    public async Task Before_create_account_every_command_is_account_not_found_and_makes_nothing(string method, string url, object? body)
    {
        var trader = await _app.TraderAsync(createAccount: false);

        var response = await trader.Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), url) { Content = body is null ? null : JsonContent.Create(body) });

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("ACCOUNT_NOT_FOUND", (await response.ProblemAsync())["code"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NotFound, (await trader.Client.GetAsync("/api/v1/balance")).StatusCode); // still no account
    }

    [Fact]
    public async Task An_order_the_spread_alone_would_liquidate_is_refused_and_changes_nothing()
    {
        await using var app = new ExchangeApp();
        await app.TickAsync("SOL_USDC", 200m, 240m); // a LONG at 10x opens at 240 and is liquidated near 217: the bid is already below
        var trader = await app.TraderAsync();
        var before = (await trader.GetJsonAsync("/api/v1/balance")).ToJsonString();

        var response = await trader.EngineAsync(new { command = "CREATE_TRADE", asset = "SOL_USDC", direction = "LONG", margin = 100, leverage = 10 });

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        AssertRefusalEnvelope(await response.ProblemAsync(), "WOULD_BE_LIQUIDATED_AT_ONCE");
        Assert.Equal(before, (await trader.GetJsonAsync("/api/v1/balance")).ToJsonString());
        Assert.Empty((await trader.GetJsonAsync("/api/v1/trades?status=open"))["trades"]!.AsArray());
    }

    [Fact]
    public async Task An_order_on_a_price_older_than_ten_seconds_is_refused_as_stale_and_changes_nothing()
    {
        var clock = new ShiftedTime();
        await using var app = new ExchangeApp(time: clock);
        await app.MarketAsync();
        var trader = await app.TraderAsync();
        var before = (await trader.GetJsonAsync("/api/v1/balance")).ToJsonString();
        clock.Offset = TimeSpan.FromSeconds(11); // no tick since: the feed has gone quiet

        var response = await trader.EngineAsync(new { command = "CREATE_TRADE", asset = "BTC_USDC", direction = "LONG", margin = 100, leverage = 5 });

        var problem = await response.ProblemAsync();
        Assert.Equal("PRICE_STALE", problem["code"]!.GetValue<string>());
        Assert.True((int)response.StatusCode is >= 400 and < 500, response.StatusCode.ToString());
        AssertRefusalEnvelope(problem, "PRICE_STALE");
        Assert.Equal(before, (await trader.GetJsonAsync("/api/v1/balance")).ToJsonString());
        Assert.Empty((await trader.GetJsonAsync("/api/v1/trades?status=open"))["trades"]!.AsArray());
    }

    /// <summary>The system's clock, moved on by <see cref="Offset"/>.</summary>
    private sealed class ShiftedTime : TimeProvider
    {
        public TimeSpan Offset { get; set; }

        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + Offset;
    }

    [Fact]
    public async Task Trading_before_any_price_is_a_conflict()
    {
        await using var fresh = new ExchangeApp();
        var newcomer = await fresh.TraderAsync();
        var response = await newcomer.EngineAsync(new { command = "CREATE_TRADE", asset = "BTC_USDC", direction = "LONG", margin = 10, leverage = 2 });
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal("NO_PRICE", (await response.ProblemAsync())["code"]!.GetValue<string>());
    }
}
