namespace Exchange.Engine;

/// <summary>
/// Why a command was refused, grouped by the stage that refuses it (as exchange-core does).
/// The numbers and names are an API contract and are written to logs: only ever add.
/// </summary>
public enum RejectCode : short
{
    None = 0,

    // 1xx: the request itself
    UnknownCommand = 100,
    UnknownAsset = 101,
    InvalidDirection = 102,

    // 2xx: accounts
    AccountNotFound = 200,
    AccountExists = 201,

    // 3xx: market data
    NoPrice = 300,
    PriceStale = 301,

    // 4xx: risk checks on a new trade
    LeverageOutOfRange = 400,
    LeverageNotInteger = 401,
    MarginNotPositive = 402,
    MarginTooPrecise = 403,
    MarginBelowMinimum = 404,
    InsufficientBalance = 405,
    StopLossWrongSide = 406,
    TakeProfitWrongSide = 407,
    TriggerPriceInvalid = 408,
    WouldBeLiquidatedAtOnce = 409,
    MarginAboveMaximum = 410,
    TradeIdTaken = 411,
    PositionTooLarge = 412,

    // 5xx: existing trades
    TradeNotFound = 500,
    TradeNotOwned = 501,
}

public static class RejectCodes
{
    /// <summary>The stable SCREAMING_SNAKE name used in API responses.</summary>
    public static string Name(this RejectCode code) => code switch
    {
        RejectCode.None => "OK",
        RejectCode.UnknownCommand => "UNKNOWN_COMMAND",
        RejectCode.UnknownAsset => "UNKNOWN_ASSET",
        RejectCode.InvalidDirection => "INVALID_DIRECTION",
        RejectCode.AccountNotFound => "ACCOUNT_NOT_FOUND",
        RejectCode.AccountExists => "ACCOUNT_EXISTS",
        RejectCode.NoPrice => "NO_PRICE",
        RejectCode.PriceStale => "PRICE_STALE",
        RejectCode.LeverageOutOfRange => "LEVERAGE_OUT_OF_RANGE",
        RejectCode.LeverageNotInteger => "LEVERAGE_NOT_INTEGER",
        RejectCode.MarginNotPositive => "MARGIN_NOT_POSITIVE",
        RejectCode.MarginTooPrecise => "MARGIN_TOO_PRECISE",
        RejectCode.MarginBelowMinimum => "MARGIN_BELOW_MINIMUM",
        RejectCode.InsufficientBalance => "INSUFFICIENT_BALANCE",
        RejectCode.StopLossWrongSide => "STOP_LOSS_WRONG_SIDE",
        RejectCode.TakeProfitWrongSide => "TAKE_PROFIT_WRONG_SIDE",
        RejectCode.TriggerPriceInvalid => "TRIGGER_PRICE_INVALID",
        RejectCode.WouldBeLiquidatedAtOnce => "WOULD_BE_LIQUIDATED_AT_ONCE",
        RejectCode.MarginAboveMaximum => "MARGIN_ABOVE_MAXIMUM",
        RejectCode.TradeIdTaken => "TRADE_ID_TAKEN",
        RejectCode.PositionTooLarge => "POSITION_TOO_LARGE",
        RejectCode.TradeNotFound => "TRADE_NOT_FOUND",
        RejectCode.TradeNotOwned => "TRADE_NOT_OWNED",
        _ => "UNKNOWN_REJECTION",
    };

    /// <summary>A sentence a trader can act on.</summary>
    public static string Message(this RejectCode code) => code switch
    {
        RejectCode.None => "Operation completed",
        RejectCode.UnknownCommand => "Unknown command.",
        RejectCode.UnknownAsset => "Unknown asset.",
        RejectCode.InvalidDirection => "Direction must be LONG or SHORT.",
        RejectCode.AccountNotFound => "No trading account yet: send CREATE_ACCOUNT first.",
        RejectCode.AccountExists => "The trading account already exists.",
        RejectCode.NoPrice => "There is no price for this asset yet.",
        RejectCode.PriceStale => "The price for this asset is stale; trading is paused until the feed recovers.",
        RejectCode.LeverageOutOfRange => "Leverage must be between 1 and the asset's maximum.",
        RejectCode.LeverageNotInteger => "Leverage must be a whole number.",
        RejectCode.MarginNotPositive => "Margin must be greater than zero.",
        RejectCode.MarginTooPrecise => "Margin can have at most 2 decimals.",
        RejectCode.MarginBelowMinimum => "Margin is below the asset's minimum.",
        RejectCode.InsufficientBalance => "Margin is more than the free balance.",
        RejectCode.StopLossWrongSide => "Stop-loss must lie between the price the trade closes at and its liquidation price: below the bid and above the liquidation price for a LONG, above the ask and below the liquidation price for a SHORT.",
        RejectCode.TakeProfitWrongSide => "Take-profit must be above the open price for a LONG and below it for a SHORT.",
        RejectCode.TriggerPriceInvalid => "Stop-loss and take-profit must be positive prices with at most 8 decimals.",
        RejectCode.WouldBeLiquidatedAtOnce => "At this leverage the current spread already reaches the liquidation price.",
        RejectCode.MarginAboveMaximum => "Margin is above the asset's maximum.",
        RejectCode.TradeIdTaken => "The trade id is already in use.",
        RejectCode.PositionTooLarge => "The position (margin × leverage at this price) is too large; lower the margin or leverage.",
        RejectCode.TradeNotFound => "No such open trade.",
        RejectCode.TradeNotOwned => "No such open trade.",
        _ => "Rejected.",
    };
}
