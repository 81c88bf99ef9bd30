using Exchange.Engine;

namespace Exchange.Server.Api;

/// <summary>Turns engine replies into the API's numbers and statuses, in one place.</summary>
internal static class EngineReplies
{
    /// <summary>The HTTP status of a rejection: 404 for anything the trader cannot see, 409 for state, 422 for rules, 400 for values.</summary>
    public static int StatusCode(RejectCode code) => code switch
    {
        RejectCode.None => StatusCodes.Status200OK,
        RejectCode.AccountNotFound or RejectCode.TradeNotFound or RejectCode.TradeNotOwned => StatusCodes.Status404NotFound,
        RejectCode.AccountExists or RejectCode.NoPrice or RejectCode.PriceStale or RejectCode.TradeIdTaken => StatusCodes.Status409Conflict,
        RejectCode.InsufficientBalance or RejectCode.WouldBeLiquidatedAtOnce or RejectCode.StopLossWrongSide
            or RejectCode.TakeProfitWrongSide or RejectCode.MarginBelowMinimum or RejectCode.MarginAboveMaximum
            => StatusCodes.Status422UnprocessableEntity,
        _ => StatusCodes.Status400BadRequest,
    };

    /// <summary>What the trader is told: another trader's trade is indistinguishable from no trade.</summary>
    public static RejectCode Public(RejectCode code) => code == RejectCode.TradeNotOwned ? RejectCode.TradeNotFound : code;

    public static object? Data(in CommandReply reply, EngineConfig config) => reply.Kind switch
    {
        _ when !reply.Accepted => null,
        InputKind.CreateAccount => new AccountCreatedData(reply.InitialBalance.ToDecimal()),
        InputKind.GetBalance => Balance(in reply),
        InputKind.GetUsdBalance => new UsdBalanceData(reply.Free.ToDecimal()),
        InputKind.CreateTrade => Trade(reply.Trade, config),
        InputKind.CloseTrade => new CloseTradeData(reply.Trade.Id.ToString(), reply.Close.ClosePrice.ToDecimal(),
            reply.Close.Pnl.ToDecimal(), reply.Close.MarginReturned.ToDecimal(), reply.Close.TotalReturn.ToDecimal()),
        _ => null,
    };

    public static BalanceData Balance(in CommandReply reply) =>
        new(new UsdBalances(reply.Free.ToDecimal()), reply.Locked.ToDecimal(), reply.Equity.ToDecimal(), reply.Free.ToDecimal());

    public static TradeData Trade(in TradeView t, EngineConfig config) => new(
        t.Id.ToString(), config.Assets[t.Asset.Index].Symbol, t.Direction.Name(), t.OpenPrice.ToDecimal(),
        t.Quantity.ToDecimal(), t.Margin.ToDecimal(), t.Leverage, t.LiquidationPrice.ToDecimal(),
        Optional(t.StopLoss), Optional(t.TakeProfit), t.OpenedAtMs);

    public static OpenTradeView OpenTrade(in OpenTradeValuation v, EngineConfig config)
    {
        var t = v.Trade;
        return new OpenTradeView(t.Id.ToString(), config.Assets[t.Asset.Index].Symbol, t.Direction.Name(),
            t.OpenPrice.ToDecimal(), t.Quantity.ToDecimal(), t.Margin.ToDecimal(), t.Leverage, t.LiquidationPrice.ToDecimal(),
            Optional(t.StopLoss), Optional(t.TakeProfit), t.OpenedAtMs, v.MarkPrice.ToDecimal(), v.UnrealizedPnl.ToDecimal());
    }

    public static bool TryParseDirection(string? text, out Direction direction)
    {
        direction = default;
        if (string.Equals(text, "LONG", StringComparison.OrdinalIgnoreCase)) direction = Direction.Long;
        else if (string.Equals(text, "SHORT", StringComparison.OrdinalIgnoreCase)) direction = Direction.Short;
        else return false;
        return true;
    }

    private static decimal? Optional(Price p) => p.IsSet ? p.ToDecimal() : null;
}
