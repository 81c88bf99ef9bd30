using System.Net;
using System.Net.Http.Json;
using System.Text;

namespace Exchange.Server.Tests;

/// <summary>Every malformed request is a 4xx problem with a code, and changes nothing.</summary>
public sealed class BadInputTests : IAsyncLifetime
{
    private readonly ExchangeApp _app = new();
    private Trader _trader = null!;

    public async Task InitializeAsync()
    {
        await _app.MarketAsync();
        _trader = await _app.TraderAsync();
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    public static TheoryData<string, HttpStatusCode, string> EngineBodies => new()
    {
        { "{\"command\": \"CREATE_TRADE\", ", HttpStatusCode.BadRequest, "INVALID_JSON" },
        { "not json at all", HttpStatusCode.BadRequest, "INVALID_JSON" },
        { "[1,2,3]", HttpStatusCode.BadRequest, "INVALID_JSON" },
        { "null", HttpStatusCode.BadRequest, "INVALID_JSON" },
        { "{\"command\": 42}", HttpStatusCode.BadRequest, "INVALID_JSON" },
        { "{\"command\": \"CREATE_TRADE\", \"asset\": \"SOL_USDC\", \"direction\": \"LONG\", \"margin\": \"100\", \"leverage\": 10}", HttpStatusCode.BadRequest, "INVALID_JSON" },
        { "{\"command\": \"CREATE_TRADE\", \"asset\": \"SOL_USDC\", \"direction\": \"LONG\", \"margin\": \"NaN\", \"leverage\": 10}", HttpStatusCode.BadRequest, "INVALID_JSON" },
        { "{\"command\": \"CREATE_TRADE\", \"asset\": \"SOL_USDC\", \"direction\": \"LONG\", \"margin\": \"Infinity\", \"leverage\": 10}", HttpStatusCode.BadRequest, "INVALID_JSON" },
        { "{\"command\": \"CREATE_TRADE\", \"asset\": \"SOL_USDC\", \"direction\": \"LONG\", \"margin\": \"-Infinity\", \"leverage\": 10}", HttpStatusCode.BadRequest, "INVALID_JSON" },
        { "{\"command\": \"CREATE_TRADE\", \"asset\": \"SOL_USDC\", \"direction\": \"LONG\", \"margin\": 1e400, \"leverage\": 10}", HttpStatusCode.BadRequest, "INVALID_JSON" },
        { "{\"command\": \"CREATE_TRADE\", \"asset\": \"SOL_USDC\", \"direction\": \"LONG\", \"margin\": 100, \"leverage\": 99999999999999999999999999999999}", HttpStatusCode.BadRequest, "INVALID_JSON" },
        { "{\"command\": \"CREATE_TRADE\", \"asset\": \"SOL_USDC\", \"direction\": \"LONG\", \"margin\": 79228162514264337593543950335, \"leverage\": 10}", HttpStatusCode.UnprocessableEntity, "MARGIN_ABOVE_MAXIMUM" },
        { "{\"command\": \"CREATE_TRADE\", \"asset\": \"SOL_USDC\", \"direction\": \"LONG\", \"margin\": 100, \"leverage\": 2.5}", HttpStatusCode.BadRequest, "LEVERAGE_NOT_INTEGER" },
        { "{\"command\": \"CREATE_TRADE\", \"asset\": \"SOL_USDC\", \"direction\": \"LONG\", \"margin\": 100, \"leverage\": true}", HttpStatusCode.BadRequest, "INVALID_JSON" },
        { "{\"command\": \"CREATE_TRADE\", \"asset\": [\"SOL_USDC\"], \"direction\": \"LONG\", \"margin\": 100, \"leverage\": 10}", HttpStatusCode.BadRequest, "INVALID_JSON" },
        { "{\"command\": \"CREATE_TRADE\", \"asset\": \"SOL_USDC\", \"direction\": \"LONG\", \"margin\": 100}", HttpStatusCode.BadRequest, "MISSING_FIELD" },
        { "{}", HttpStatusCode.BadRequest, "MISSING_FIELD" },
        { "{\"command\": \"create_account\"}", HttpStatusCode.BadRequest, "UNKNOWN_COMMAND" },
        { "{\"command\": \"CREATE_TRADE\", \"asset\": \"SOL_USDC'; DROP TABLE Users;--\", \"direction\": \"LONG\", \"margin\": 100, \"leverage\": 10}", HttpStatusCode.BadRequest, "UNKNOWN_ASSET" },
        { "{\"command\": \"CREATE_TRADE\", \"asset\": \"SOL_USDC\", \"direction\": \"LONG\", \"margin\": NaN, \"leverage\": 10}", HttpStatusCode.BadRequest, "INVALID_JSON" },
        { "{\"command\": \"CREATE_TRADE\", \"asset\": \"SOL_USDC\", \"direction\": \"LONG\", \"margin\": \"0\", \"leverage\": 10}", HttpStatusCode.BadRequest, "INVALID_JSON" },
        { "{\"command\": \"CREATE_TRADE\", \"asset\": \"SOL_USDC\", \"direction\": \"LONG\", \"margin\": \"-1\", \"leverage\": 10}", HttpStatusCode.BadRequest, "INVALID_JSON" },
        { "{\"command\": \"CREATE_TRADE\", \"asset\": \"SOL_USDC\", \"direction\": \"LONG\", \"margin\": 100, \"leverage\": \"10\"}", HttpStatusCode.BadRequest, "INVALID_JSON" },
        { "{\"command\": \"CREATE_TRADE\", \"asset\": \"SOL_USDC\", \"direction\": \"LONG\", \"margin\": 0, \"leverage\": 10}", HttpStatusCode.BadRequest, "MARGIN_NOT_POSITIVE" },
        { "{\"command\": \"CREATE_TRADE\", \"asset\": \"SOL_USDC\", \"direction\": \"LONG\", \"margin\": -1, \"leverage\": 10}", HttpStatusCode.BadRequest, "MARGIN_NOT_POSITIVE" },
        { "{\"command\": \"CREATE_TRADE\", \"asset\": \"SOL_USDC\", \"direction\": \"LONG\", \"margin\": 100, \"leverage\": -5}", HttpStatusCode.BadRequest, "LEVERAGE_OUT_OF_RANGE" },
        { "{\"command\": \"CREATE_TRADE\", \"asset\": \"SOL_USDC\", \"direction\": \"LONG\", \"margin\": 100, \"leverage\": 0}", HttpStatusCode.BadRequest, "LEVERAGE_OUT_OF_RANGE" },
        { "{\"command\": \"CREATE_TRADE\", \"asset\": \"SOL_USDC\", \"direction\": \"LONG\", \"margin\": 100, \"leverage\": 10, \"stopLossPrice\": 79228162514264337593543950335}", HttpStatusCode.BadRequest, "TRIGGER_PRICE_INVALID" },
        { "{\"command\": \"CREATE_TRADE\", \"asset\": \"SOL_USDC\", \"direction\": \"LONG\", \"margin\": 100, \"leverage\": 10, \"takeProfitPrice\": \"Infinity\"}", HttpStatusCode.BadRequest, "INVALID_JSON" },
    };

    public static TheoryData<string, string> ResourceBodies => new()
    {
        { "/api/v1/trades", "{\"asset\": \"SOL_USDC\", " },
        { "/api/v1/trades", "{\"asset\": \"SOL_USDC\", \"direction\": \"LONG\", \"margin\": \"NaN\", \"leverage\": 10}" },
        { "/api/v1/trades", "{\"asset\": \"SOL_USDC\", \"direction\": \"LONG\", \"margin\": 100, \"leverage\": 2.5}" },
        { "/api/v1/trades", "{\"asset\": \"SOL_USDC\", \"direction\": \"LONG\", \"margin\": 1e400, \"leverage\": 10}" },
        { "/api/v1/trades", "{\"asset\": 42, \"direction\": \"LONG\", \"margin\": 100, \"leverage\": 10}" },
        { "/api/v1/trades", "{\"direction\": \"LONG\", \"margin\": 100, \"leverage\": 10}" },
        { "/api/v1/auth/signup", "{\"email\": 42, \"password\": \"correct horse battery\"}" },
        { "/api/v1/auth/signup", "not json" },
        { "/api/v1/auth/signin", "{\"email\": [\"a@example.com\"], \"password\": \"x\"}" },
        { "/api/v1/auth/signin", "{\"email\": \"a@example.com\", " },
    };

    [Theory]
    [MemberData(nameof(ResourceBodies))]
    public async Task Malformed_bodies_on_the_other_writes_are_problems_that_change_nothing(string path, string body)
    {
        var before = (await _trader.GetJsonAsync("/api/v1/balance")).ToJsonString();

        var response = await _trader.Client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.False(string.IsNullOrEmpty((await response.ProblemAsync())["code"]!.GetValue<string>()));
        Assert.Equal(before, (await _trader.GetJsonAsync("/api/v1/balance")).ToJsonString());
        Assert.Empty((await _trader.GetJsonAsync("/api/v1/trades?status=open"))["trades"]!.AsArray());
    }

    [Theory]
    [MemberData(nameof(EngineBodies))]
    public async Task Malformed_engine_commands_are_problems_that_change_nothing(string body, HttpStatusCode status, string code)
    {
        var before = (await _trader.GetJsonAsync("/api/v1/balance")).ToJsonString();
        var response = await _trader.Client.PostAsync("/api/v1/engine", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(status, response.StatusCode);
        var problem = await response.ProblemAsync();
        Assert.Equal(code, problem["code"]!.GetValue<string>());
        EngineEndpointTests.AssertRefusalEnvelope(problem, code);
        Assert.Equal(before, (await _trader.GetJsonAsync("/api/v1/balance")).ToJsonString());
        Assert.Empty((await _trader.GetJsonAsync("/api/v1/trades?status=open"))["trades"]!.AsArray());
    }

    /// <summary>The journal keeps at most 254 bytes of a symbol: a longer one once stopped the engine thread for good.</summary>
    [Theory]
    [InlineData("/api/v1/engine", 255, "A")]
    [InlineData("/api/v1/engine", 128, "é")]
    [InlineData("/api/v1/engine", 5000, "A")]
    [InlineData("/api/v1/trades", 255, "A")]
    public async Task An_asset_too_long_to_journal_is_unknown_and_the_engine_keeps_trading(string path, int repeat, string letter)
    {
        var asset = string.Concat(Enumerable.Repeat(letter, repeat));
        var response = await _trader.Client.PostAsJsonAsync(path,
            new { command = "CREATE_TRADE", asset, direction = "LONG", margin = 100, leverage = 10 });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("UNKNOWN_ASSET", (await response.ProblemAsync())["code"]!.GetValue<string>());
        await _trader.OpenAsync("SOL_USDC", "LONG", 100, 10);
        Assert.Single((await _trader.GetJsonAsync("/api/v1/trades?status=open"))["trades"]!.AsArray());
    }

    [Fact]
    public async Task A_10_MB_body_is_refused_as_too_large_and_opens_nothing()
    {
        var before = (await _trader.GetJsonAsync("/api/v1/balance")).ToJsonString();
        var huge = "{\"command\":\"CREATE_TRADE\",\"asset\":\"SOL_USDC\",\"direction\":\"LONG\",\"margin\":100,\"leverage\":10,\"pad\":\""
            + new string('x', 10 * 1024 * 1024) + "\"}";
        var response = await _trader.Client.PostAsync("/api/v1/engine", new StringContent(huge, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        var problem = await response.ProblemAsync();
        Assert.Equal("BODY_TOO_LARGE", problem["code"]!.GetValue<string>());
        EngineEndpointTests.AssertRefusalEnvelope(problem, "BODY_TOO_LARGE");
        Assert.Equal(before, (await _trader.GetJsonAsync("/api/v1/balance")).ToJsonString());
        Assert.Empty((await _trader.GetJsonAsync("/api/v1/trades?status=open"))["trades"]!.AsArray());
    }

    [Fact]
    public async Task An_idempotency_key_that_cannot_be_honoured_is_a_400_and_nothing_runs()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/engine")
        {
            Content = JsonContent.Create(new { command = "CREATE_TRADE", asset = "SOL_USDC", direction = "LONG", margin = 100, leverage = 5 }),
        };
        request.Headers.Add("Idempotency-Key", new string('k', Exchange.Server.Api.HttpExtensions.MaxIdempotencyKeyLength + 1));
        var response = await _trader.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("INVALID_IDEMPOTENCY_KEY", (await response.ProblemAsync())["code"]!.GetValue<string>());
        Assert.Empty((await _trader.GetJsonAsync("/api/v1/trades?status=open"))["trades"]!.AsArray());
    }

    public static TheoryData<string, string, string> SignupBodies => new()
    {
        { "<script>alert(1)</script>@example.com", "long enough password", "INVALID_EMAIL" },
        { "x@example.com' OR '1'='1", "long enough password", "INVALID_EMAIL" },
        { "robert'); DROP TABLE Users;--@example.com", "long enough password", "INVALID_EMAIL" },
        { "Display Name <dn@example.com>", "long enough password", "INVALID_EMAIL" },
        { "no-at-sign", "long enough password", "INVALID_EMAIL" },
        { "a@b", "long enough password", "INVALID_EMAIL" },
        { "", "long enough password", "MISSING_FIELD" },
        { "short@example.com", "seven77", "PASSWORD_TOO_SHORT" },
        { "emoji@example.com", "\U0001F510\U0001F510\U0001F510\U0001F510", "PASSWORD_TOO_SHORT" }, // 4 characters, 8 UTF-16 units
        { "long@example.com", new string('p', 129), "PASSWORD_TOO_LONG" },
    };

    [Theory]
    [MemberData(nameof(SignupBodies))]
    public async Task Bad_signups_are_400_problems_and_make_no_account(string email, string password, string code)
    {
        var client = _app.CreateClient();
        var response = await client.PostAsJsonAsync("/api/v1/auth/signup", new { email, password });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(code, (await response.ProblemAsync())["code"]!.GetValue<string>());
        Assert.NotEqual(HttpStatusCode.OK, (await client.PostAsJsonAsync("/api/v1/auth/signin", new { email, password })).StatusCode);
    }

    [Fact]
    public async Task Unicode_passwords_work_and_are_compared_exactly()
    {
        var client = _app.CreateClient();
        var email = $"u-{Guid.NewGuid():N}@example.com";
        const string password = "pässwörd-🔐-日本語";
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsJsonAsync("/api/v1/auth/signup", new { email, password })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/api/v1/auth/signin", new { email, password })).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostAsJsonAsync("/api/v1/auth/signin", new { email, password = "passwörd-🔐-日本語" })).StatusCode);
    }

    [Theory]
    [InlineData("/api/v1/trades?status=pending")]
    [InlineData("/api/v1/trades?status=closed&limit=0")]
    [InlineData("/api/v1/trades?status=closed&limit=100000")]
    public async Task Bad_query_parameters_are_400_problems(string url)
    {
        var response = await _trader.Client.GetAsync(url);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.NotNull((await response.ProblemAsync())["code"]);
    }
}
