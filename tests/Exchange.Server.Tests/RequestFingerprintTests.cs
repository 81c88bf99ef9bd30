using Exchange.Engine;
using Exchange.Server.Api;

namespace Exchange.Server.Tests;

/// <summary>What makes two writes under one Idempotency-Key "the same request".</summary>
public sealed class RequestFingerprintTests
{
    private const string Trade = """{"command":"CREATE_TRADE","asset":"btc_usdc","direction":"long","margin":100,"leverage":5}""";

    [Fact]
    public void A_stored_request_with_a_field_its_command_does_not_use_is_the_same_request()
    {
        // Rows from before payloads were made from the input hold the request as sent, stray fields and all.
        var asSent = """{"command":"CREATE_TRADE","asset":"BTC_USDC","direction":"LONG","margin":100.00,"leverage":5,"tradeId":"stray","stopLossPrice":null}""";
        var input = new EngineInput { Kind = InputKind.CreateTrade, Symbol = "btc_usdc", Direction = Direction.Long, Margin = 100m, Leverage = 5m };

        Assert.Equal(OrderEntry.RequestFingerprint("CREATE_TRADE", asSent), OrderEntry.RequestFingerprint("CREATE_TRADE", OrderHistory.PayloadJson(in input)));
        Assert.Equal(OrderEntry.RequestFingerprint("CREATE_TRADE", asSent), OrderEntry.RequestFingerprint("CREATE_TRADE", Trade));
    }

    [Theory]
    [InlineData("""{"asset":"ETH_USDC","direction":"LONG","margin":100,"leverage":5}""")]
    [InlineData("""{"asset":"BTC_USDC","direction":"SHORT","margin":100,"leverage":5}""")]
    [InlineData("""{"asset":"BTC_USDC","direction":"LONG","margin":100.01,"leverage":5}""")]
    [InlineData("""{"asset":"BTC_USDC","direction":"LONG","margin":100,"leverage":5,"takeProfitPrice":1}""")]
    public void A_change_to_a_field_the_command_uses_is_another_request(string other) =>
        Assert.NotEqual(OrderEntry.RequestFingerprint("CREATE_TRADE", Trade), OrderEntry.RequestFingerprint("CREATE_TRADE", other));

    [Fact]
    public void A_close_is_the_same_request_in_either_hex_case_and_another_for_another_trade()
    {
        var id = new TradeId(new UInt128(0xABCDEF, 42));
        var lower = $$"""{"tradeId":"{{id.ToString().ToLowerInvariant()}}"}""";
        var upper = $$"""{"tradeId":"{{id.ToString().ToUpperInvariant()}}","asset":"stray"}""";
        Assert.Equal(OrderEntry.RequestFingerprint("CLOSE_TRADE", lower), OrderEntry.RequestFingerprint("CLOSE_TRADE", upper));
        Assert.NotEqual(OrderEntry.RequestFingerprint("CLOSE_TRADE", lower),
            OrderEntry.RequestFingerprint("CLOSE_TRADE", $$"""{"tradeId":"{{new TradeId(new UInt128(0xABCDEF, 43))}}"}"""));
    }
}
