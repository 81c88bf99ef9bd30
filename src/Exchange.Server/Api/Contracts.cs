using System.Text.Json.Serialization;

namespace Exchange.Server.Api;

// The wire shapes of the API. Names and the /engine envelope follow the seed; numbers are
// JSON numbers in USD and price units.

/// <summary>POST /api/v1/engine: the seed's command body. Numbers stay decimal so the engine can name each bad value.</summary>
public sealed record EngineRequest(
    string? Command,
    string? Asset = null,
    string? Direction = null,
    decimal? Margin = null,
    decimal? Leverage = null,
    decimal? StopLossPrice = null,
    decimal? TakeProfitPrice = null,
    string? TradeId = null);

/// <summary>POST /api/v1/trades.</summary>
public sealed record OpenTradeRequest(
    string? Asset,
    string? Direction,
    decimal? Margin,
    decimal? Leverage,
    decimal? StopLossPrice = null,
    decimal? TakeProfitPrice = null);

public sealed record EngineResponse(string Status, object? Data, string Message, string? Code = null);

/// <summary>The seed's envelope.</summary>
public sealed record EngineEnvelope(bool Success, Guid OrderId, EngineResponse EngineResponse, decimal? Latency);

public sealed record AccountCreatedData(decimal InitialUsdBalance);

public sealed record UsdBalances([property: JsonPropertyName("USD")] decimal USD);

public sealed record BalanceData(UsdBalances Balances, decimal LockedMargin, decimal Equity, decimal FreeMargin);

public sealed record UsdBalanceData(decimal UsdBalance);

public sealed record TradeData(
    string TradeId,
    string Asset,
    string Direction,
    decimal OpenPrice,
    decimal Quantity,
    decimal Margin,
    int Leverage,
    decimal LiquidationPrice,
    decimal? StopLossPrice,
    decimal? TakeProfitPrice,
    long OpenedAt);

public sealed record CloseTradeData(string TradeId, decimal ClosePrice, decimal Pnl, decimal MarginReturned, decimal TotalReturn);

public sealed record OpenTradeView(
    string TradeId,
    string Asset,
    string Direction,
    decimal OpenPrice,
    decimal Quantity,
    decimal Margin,
    int Leverage,
    decimal LiquidationPrice,
    decimal? StopLossPrice,
    decimal? TakeProfitPrice,
    long OpenedAt,
    decimal MarkPrice,
    decimal UnrealizedPnl,
    string Status = "open");

public sealed record ClosedTradeView(
    string TradeId,
    string Asset,
    string Direction,
    decimal OpenPrice,
    decimal Quantity,
    decimal Margin,
    int Leverage,
    decimal LiquidationPrice,
    decimal? StopLossPrice,
    decimal? TakeProfitPrice,
    long OpenedAt,
    decimal? ClosePrice,
    string? CloseReason,
    decimal? Pnl,
    decimal? Payout,
    long? ClosedAt,
    string Status = "closed");

public sealed record TradePage<T>(IReadOnlyList<T> Trades, string? NextCursor);

public sealed record AssetView(string Symbol, int MaxLeverage, decimal MaintenanceMarginRate, decimal MinMargin, decimal MaxMargin);

public sealed record PriceView(string Asset, decimal Bid, decimal Ask, long Timestamp);

public sealed record Credentials(string? Email, string? Password);

public sealed record UserView(Guid Id, string Email, long CreatedAt);

public sealed record SessionView(UserView? User);

public sealed record AuthResult(UserView User, string Token, long ExpiresAt);

public sealed record OrderView(
    Guid OrderId,
    string Command,
    string Status,
    string Code,
    string Message,
    long Sequence,
    decimal? LatencyMs,
    long CreatedAt,
    object? Data);
