using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Exchange.Server.Tests;

/// <summary>Nobody can see or touch another trader's account; nothing works without a valid token.</summary>
public sealed class SecurityTests : IAsyncLifetime
{
    private readonly ExchangeApp _app = new();

    public Task InitializeAsync() => _app.MarketAsync();

    public async Task DisposeAsync() => await _app.DisposeAsync();

    public static TheoryData<string, string> TradingEndpoints => new()
    {
        { "POST", "/api/v1/engine" },
        { "GET", "/api/v1/balance" },
        { "GET", "/api/v1/trades?status=open" },
        { "GET", "/api/v1/trades?status=closed" },
        { "POST", "/api/v1/trades" },
        { "POST", "/api/v1/trades/0123456789abcdef0123456789abcdef/close" },
        { "GET", $"/api/v1/orders/{Guid.NewGuid()}" },
        { "GET", "/api/v1/auth/me" },
    };

    private static HttpRequestMessage Request(string method, string url) => new(new HttpMethod(method), url)
    {
        Content = method == "POST" ? JsonContent.Create(new { command = "GET_BALANCE" }) : null,
    };

    [Theory]
    [MemberData(nameof(TradingEndpoints))]
    public async Task Without_a_token_every_trading_endpoint_is_401(string method, string url)
    {
        var response = await _app.CreateClient().SendAsync(Request(method, url));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("UNAUTHENTICATED", (await response.ProblemAsync())["code"]!.GetValue<string>());
    }

    public static TheoryData<string> BadTokens()
    {
        var now = DateTime.UtcNow;
        string Token(string secret, DateTime expires, string issuer = "exchange") => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer, Audience = "exchange", IssuedAt = expires.AddHours(-1), NotBefore = expires.AddHours(-1), Expires = expires,
            Claims = new Dictionary<string, object> { ["sub"] = Guid.NewGuid().ToString() },
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(secret)), SecurityAlgorithms.HmacSha256),
        });
        static string B64(string s) => Base64UrlEncoder.Encode(s);
        return new TheoryData<string>
        {
            Token(ExchangeApp.JwtSecret, now.AddMinutes(-5)),                                   // expired
            Token("a-completely-different-secret-of-32-bytes!", now.AddHours(1)),               // forged
            Token(ExchangeApp.JwtSecret, now.AddHours(1), issuer: "someone-else"),               // wrong issuer
            $"{B64("{\"alg\":\"none\",\"typ\":\"JWT\"}")}.{B64($"{{\"sub\":\"{Guid.NewGuid()}\",\"iss\":\"exchange\",\"aud\":\"exchange\",\"exp\":4102444800}}")}.", // alg:none
            "not-a-jwt",
        };
    }

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task Expired_forged_or_unsigned_tokens_are_401(string token)
    {
        var client = _app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/v1/balance")).StatusCode);
        var cookieClient = _app.CreateClient();
        cookieClient.DefaultRequestHeaders.Add("Cookie", $"authToken={token}");
        Assert.Equal(HttpStatusCode.Unauthorized, (await cookieClient.GetAsync("/api/v1/balance")).StatusCode);
    }

    [Fact]
    public async Task Bearer_token_from_signin_works_without_the_cookie()
    {
        var trader = await _app.TraderAsync();
        var client = _app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", trader.Token);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/balance")).StatusCode);
    }

    [Fact]
    public async Task A_trader_cannot_see_close_or_learn_of_another_traders_trades_or_orders()
    {
        var alice = await _app.TraderAsync();
        var bob = await _app.TraderAsync();
        var open = await alice.EngineOkAsync(new { command = "CREATE_TRADE", asset = "BTC_USDC", direction = "LONG", margin = 100, leverage = 5 });
        var tradeId = open["engineResponse"]!["data"]!["tradeId"]!.GetValue<string>();
        var orderId = open["orderId"]!.GetValue<string>();

        Assert.Empty((await bob.GetJsonAsync("/api/v1/trades?status=open"))["trades"]!.AsArray());

        var viaEngine = await bob.EngineAsync(new { command = "CLOSE_TRADE", tradeId });
        Assert.Equal(HttpStatusCode.NotFound, viaEngine.StatusCode);
        Assert.Equal("TRADE_NOT_FOUND", (await viaEngine.ProblemAsync())["code"]!.GetValue<string>());

        var viaResource = await bob.Client.PostAsync($"/api/v1/trades/{tradeId}/close", null);
        var unknown = await bob.Client.PostAsync($"/api/v1/trades/{new string('a', 32)}/close", null);
        Assert.Equal(HttpStatusCode.NotFound, viaResource.StatusCode);
        // Same status and body for "someone else's" and "no such trade": nothing to learn.
        var a = await viaResource.ProblemAsync();
        var b = await unknown.ProblemAsync();
        Assert.Equal(b["code"]!.ToJsonString(), a["code"]!.ToJsonString());
        Assert.Equal(b["detail"]!.ToJsonString(), a["detail"]!.ToJsonString());

        Assert.Equal(HttpStatusCode.NotFound, (await bob.Client.GetAsync($"/api/v1/orders/{orderId}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await alice.Client.GetAsync($"/api/v1/orders/{orderId}")).StatusCode);
        Assert.Single((await alice.GetJsonAsync("/api/v1/trades?status=open"))["trades"]!.AsArray());
    }

    [Fact]
    public async Task Another_traders_closed_trades_orders_and_idempotency_keys_stay_theirs()
    {
        var alice = await _app.TraderAsync();
        var bob = await _app.TraderAsync();
        const string key = "shared-looking-key-1";
        var opened = await KeyedOpenAsync(alice, key);
        var aliceOrder = opened["orderId"]!.GetValue<string>();
        await alice.EngineOkAsync(new { command = "CLOSE_TRADE", tradeId = opened["engineResponse"]!["data"]!["tradeId"]!.GetValue<string>() });
        await _app.RecordedAsync();

        Assert.Empty((await bob.GetJsonAsync("/api/v1/trades?status=closed"))["trades"]!.AsArray());

        // Alice's order reads to Bob exactly as an order that does not exist.
        var hers = await bob.Client.GetAsync($"/api/v1/orders/{aliceOrder}");
        var nobodys = await bob.Client.GetAsync($"/api/v1/orders/{Guid.NewGuid()}");
        Assert.Equal(nobodys.StatusCode, hers.StatusCode);
        var (a, b) = (await hers.ProblemAsync(), await nobodys.ProblemAsync());
        Assert.Equal(b["code"]!.ToJsonString(), a["code"]!.ToJsonString());
        Assert.Equal(b["detail"]!.ToJsonString(), a["detail"]!.ToJsonString());

        // Her key is nothing to Bob: under it he places his own order, not a replay of hers.
        var his = await KeyedOpenAsync(bob, key);
        Assert.NotEqual(aliceOrder, his["orderId"]!.GetValue<string>());
        Assert.Single((await bob.GetJsonAsync("/api/v1/trades?status=open"))["trades"]!.AsArray());
    }

    private static async Task<System.Text.Json.Nodes.JsonObject> KeyedOpenAsync(Trader trader, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/engine")
        {
            Content = JsonContent.Create(new { command = "CREATE_TRADE", asset = "BTC_USDC", direction = "LONG", margin = 100, leverage = 5 }),
        };
        request.Headers.Add("Idempotency-Key", key);
        var response = await trader.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<System.Text.Json.Nodes.JsonObject>())!;
    }

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task A_bad_token_cannot_place_an_order(string token)
    {
        var victim = await _app.TraderAsync();
        var before = (await victim.GetJsonAsync("/api/v1/balance")).ToJsonString();
        var client = _app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

        var response = await client.PostAsJsonAsync("/api/v1/engine", new { command = "CREATE_TRADE", asset = "BTC_USDC", direction = "LONG", margin = 100, leverage = 5 });

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(before, (await victim.GetJsonAsync("/api/v1/balance")).ToJsonString());
        Assert.Empty((await victim.GetJsonAsync("/api/v1/trades?status=open"))["trades"]!.AsArray());
    }

    [Fact]
    public async Task Signin_does_not_reveal_whether_an_email_exists()
    {
        var trader = await _app.TraderAsync();
        var client = _app.CreateClient();
        var wrongPassword = await client.PostAsJsonAsync("/api/v1/auth/signin", new { email = trader.Email, password = "wrong password!" });
        var noSuchUser = await client.PostAsJsonAsync("/api/v1/auth/signin", new { email = "nobody@example.com", password = "wrong password!" });
        Assert.Equal(HttpStatusCode.Unauthorized, wrongPassword.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, noSuchUser.StatusCode);
        var a = await noSuchUser.ProblemAsync();
        var b = await wrongPassword.ProblemAsync();
        a.Remove("traceId");
        b.Remove("traceId");
        Assert.Equal(a.ToJsonString(), b.ToJsonString());
    }

    [Theory]
    [InlineData("/api/v1/balance")]
    [InlineData("/api/v1/trades?status=open")]
    [InlineData("/api/v1/trades?status=closed")]
    [InlineData("/api/v1/auth/me")]
    [InlineData("/api/v1/prices")]
    [InlineData("/api/v1/orders/0190a8f2-0000-7000-8000-000000000000")] // a 404 problem too
    public async Task What_the_api_reads_out_is_never_stored_by_a_browser_or_proxy(string url)
    {
        var trader = await _app.TraderAsync();

        var response = await trader.Client.GetAsync(url);

        Assert.True(response.Headers.CacheControl?.NoStore, $"{url}: {response.Headers.CacheControl}");
    }

    [Fact]
    public async Task Order_entry_replies_carry_no_cache_header_as_no_cache_stores_a_posts_reply()
    {
        var trader = await _app.TraderAsync();

        var reply = await trader.EngineAsync(new { command = "GET_BALANCE" });

        Assert.True(reply.IsSuccessStatusCode);
        Assert.Null(reply.Headers.CacheControl);
    }

    [Fact]
    public async Task Auth_cookie_is_http_only_and_same_site_strict()
    {
        var response = await _app.CreateClient().PostAsJsonAsync("/api/v1/auth/signup",
            new { email = $"c-{Guid.NewGuid():N}@example.com", password = "long enough password" });
        var cookie = Assert.Single(response.Headers.GetValues("Set-Cookie"));
        Assert.StartsWith("authToken=", cookie, StringComparison.Ordinal);
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("secure", cookie, StringComparison.OrdinalIgnoreCase); // plain http: a Secure cookie would never come back
    }

    [Fact]
    public async Task Over_https_the_auth_cookie_is_secure()
    {
        var client = _app.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { BaseAddress = new Uri("https://localhost") });
        var response = await client.PostAsJsonAsync("/api/v1/auth/signup", new { email = $"s-{Guid.NewGuid():N}@example.com", password = "long enough password" });
        var cookie = Assert.Single(response.Headers.GetValues("Set-Cookie"));
        Assert.Contains("; secure", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Signup_signin_me_and_signout_work_with_the_cookie()
    {
        var trader = await _app.TraderAsync(createAccount: false);
        var me = await trader.GetJsonAsync("/api/v1/auth/me");
        Assert.Equal(trader.Email, me["email"]!.GetValue<string>());

        Assert.Equal(HttpStatusCode.NoContent, (await trader.Client.PostAsync("/api/v1/auth/signout", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await trader.Client.GetAsync("/api/v1/auth/me")).StatusCode);

        var signin = await trader.Client.PostAsJsonAsync("/api/v1/auth/signin", new { email = trader.Email.ToUpperInvariant(), password = "correct horse battery" });
        Assert.Equal(HttpStatusCode.OK, signin.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await trader.Client.GetAsync("/api/v1/auth/me")).StatusCode);
    }

    [Fact]
    public async Task Signing_up_twice_with_the_same_email_is_a_conflict()
    {
        var trader = await _app.TraderAsync(createAccount: false);
        var again = await _app.CreateClient().PostAsJsonAsync("/api/v1/auth/signup", new { email = trader.Email.ToUpperInvariant(), password = "another password" });
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("EMAIL_TAKEN", (await again.ProblemAsync())["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_signup_the_database_fails_to_save_is_503_not_a_taken_email()
    {
        await using (var db = await _app.HoldDatabaseWriteLockAsync())
        {
            // A failure that is not the unique email: SQLite refuses this one insert.
            await db.RunAsync("CREATE TRIGGER refuse_signup BEFORE INSERT ON Users WHEN NEW.Email = 'unlucky@example.com' " +
                              "BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END");
        }

        var refused = await _app.CreateClient().PostAsJsonAsync("/api/v1/auth/signup", new { email = "unlucky@example.com", password = "correct horse battery" });

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal("SIGNUP_UNAVAILABLE", (await refused.ProblemAsync())["code"]!.GetValue<string>());
        var signin = await _app.CreateClient().PostAsJsonAsync("/api/v1/auth/signin", new { email = "unlucky@example.com", password = "correct horse battery" });
        Assert.Equal(HttpStatusCode.Unauthorized, signin.StatusCode); // nothing was created
    }
}
