using System.Text.Json;
using System.Text.Json.Serialization;
using Exchange.Server.Api;

namespace Exchange.Server.Push;

// What /api/v1/stream sends: one JSON object per text frame, numbers in USD / price units.

public sealed record PriceMessage(string Asset, decimal Bid, decimal Ask, long Ts)
{
    public string Type => "price";
}

public sealed record TradeOpenedMessage(string TradeId, TradeData Trade)
{
    public string Type => "trade_opened";
}

public sealed record TradeClosedMessage(
    string TradeId, string Asset, string Direction, string Reason, decimal ClosePrice, decimal Margin, decimal Pnl, decimal Payout, long ClosedAt)
{
    public string Type => "trade_closed";
}

public sealed record BalanceMessage(UsdBalances Balances, decimal LockedMargin, decimal Equity)
{
    public string Type => "balance";
}

public sealed record PingMessage
{
    public string Type => "ping";
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(PriceMessage))]
[JsonSerializable(typeof(TradeOpenedMessage))]
[JsonSerializable(typeof(TradeClosedMessage))]
[JsonSerializable(typeof(BalanceMessage))]
[JsonSerializable(typeof(PingMessage))]
internal sealed partial class PushJsonContext : JsonSerializerContext;
