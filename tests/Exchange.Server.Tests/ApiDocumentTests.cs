using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Exchange.Server.Tests;

/// <summary>The OpenAPI document says what the endpoints do, and every problem has a code, the framework's own too.</summary>
public sealed class ApiDocumentTests : IAsyncLifetime
{
    private readonly ExchangeApp _app = new();
    private JsonObject _document = null!;

    public async Task InitializeAsync()
    {
        await _app.MarketAsync();
        _document = JsonNode.Parse(await _app.CreateClient().GetStringAsync("/openapi/v1.json"))!.AsObject();
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    private JsonObject Operation(string path, string method) => _document["paths"]![path]![method]!.AsObject();

    [Fact]
    public void Opening_a_trade_is_documented_as_201_with_the_trade_and_its_rejections()
    {
        var responses = Operation("/api/v1/trades", "post")["responses"]!.AsObject();

        Assert.Contains("201", responses.Select(r => r.Key));
        Assert.DoesNotContain("200", responses.Select(r => r.Key));
        Assert.Contains("TradeData", responses["201"]!.ToJsonString());
        Assert.Contains("422", responses.Select(r => r.Key));
        Assert.Contains("CloseTradeData", Operation("/api/v1/trades/{tradeId}/close", "post")["responses"]!["200"]!.ToJsonString());
        Assert.Contains("OpenTradeView", Operation("/api/v1/trades", "get")["responses"]!["200"]!.ToJsonString());
    }

    [Fact]
    public void Trading_operations_name_their_authentication_and_public_ones_do_not()
    {
        var schemes = _document["components"]!["securitySchemes"]!.AsObject();
        Assert.Equal("bearer", schemes["bearer"]!["scheme"]!.GetValue<string>());
        Assert.Equal("authToken", schemes["cookie"]!["name"]!.GetValue<string>());

        Assert.Contains("bearer", Operation("/api/v1/engine", "post")["security"]!.ToJsonString());
        Assert.Null(Operation("/api/v1/prices", "get")["security"]);
    }

    [Fact]
    public void Problems_are_documented_with_their_code_and_numbers_as_numbers()
    {
        var schemas = _document["components"]!["schemas"]!.AsObject();

        Assert.Equal("string", schemas["ProblemDetails"]!["properties"]!["code"]!["type"]!.GetValue<string>());
        Assert.DoesNotContain("string", schemas["OpenTradeRequest"]!["properties"]!["margin"]!["type"]!.ToJsonString());
    }

    [Fact]
    public async Task A_json_endpoint_posted_as_a_form_is_415_saying_what_to_send()
    {
        var trader = await _app.TraderAsync();

        var form = await trader.Client.PostAsync("/api/v1/engine", new StringContent("{\"command\":\"GET_BALANCE\"}", Encoding.UTF8, "application/x-www-form-urlencoded"));
        var unknown = await trader.Client.PostAsync("/api/v1/nothing-here", new StringContent("a=b", Encoding.UTF8, "application/x-www-form-urlencoded"));

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, form.StatusCode);
        Assert.Equal("UNSUPPORTED_MEDIA_TYPE", (await form.ProblemAsync())["code"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task The_frameworks_own_problems_carry_a_code_too()
    {
        var trader = await _app.TraderAsync();

        var badLimit = await trader.Client.GetAsync("/api/v1/trades?status=closed&limit=abc");
        var badOrderId = await trader.Client.GetAsync("/api/v1/orders/not-a-uuid");

        Assert.Equal(HttpStatusCode.BadRequest, badLimit.StatusCode);
        Assert.Equal("BAD_REQUEST", (await badLimit.ProblemAsync())["code"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NotFound, badOrderId.StatusCode);
        Assert.Equal("ORDER_NOT_FOUND", (await badOrderId.ProblemAsync())["code"]!.GetValue<string>());
    }
}
