namespace Exchange.Engine;

/// <summary>
/// The spelling of the engine's enums in the API, the database and the push stream (the
/// seed's names). One place, because a renamed value would break clients and stored rows.
/// </summary>
public static class WireNames
{
    public static string Name(this Direction direction) => direction switch
    {
        Direction.Long => "LONG",
        Direction.Short => "SHORT",
        _ => direction.ToString().ToUpperInvariant(),
    };

    public static string Name(this CloseReason reason) => reason switch
    {
        CloseReason.Manual => "MANUAL",
        CloseReason.StopLoss => "STOP_LOSS",
        CloseReason.TakeProfit => "TAKE_PROFIT",
        CloseReason.Liquidation => "LIQUIDATION",
        _ => reason.ToString().ToUpperInvariant(),
    };

    /// <summary>The seed's command name for an input kind.</summary>
    public static string CommandName(this InputKind kind) => kind switch
    {
        InputKind.CreateAccount => "CREATE_ACCOUNT",
        InputKind.GetBalance => "GET_BALANCE",
        InputKind.GetUsdBalance => "GET_USD_BALANCE",
        InputKind.CreateTrade => "CREATE_TRADE",
        InputKind.CloseTrade => "CLOSE_TRADE",
        InputKind.GetOpenTrades => "GET_OPEN_TRADES",
        InputKind.PriceTick => "PRICE_TICK",
        _ => kind.ToString().ToUpperInvariant(),
    };
}
