namespace Exchange.Engine;

/// <summary>What an input asks for. Values are written to the log: only ever add.</summary>
public enum InputKind : byte
{
    CreateAccount = 1,
    GetBalance = 2,
    GetUsdBalance = 3,
    CreateTrade = 4,
    CloseTrade = 5,
    GetOpenTrades = 6,
    PriceTick = 20,
}

/// <summary>
/// One input to the engine: a trader command or a price tick, stamped with the log's
/// sequence number and timestamp (Unix ms). Numbers from traders stay <c>decimal</c> until
/// the engine validates them, so every bad value gets its own rejection code; ticks come
/// from our own feed and are already fixed point.
/// </summary>
public struct EngineInput
{
    public InputKind Kind;
    public long Sequence;
    public long TimestampMs;

    /// <summary>The API's id for this command, echoed in the reply and events.</summary>
    public Guid OrderId;
    public UserId User;

    /// <summary>CREATE_TRADE: the id stamped by the server. CLOSE_TRADE: the trade to close.</summary>
    public TradeId TradeId;

    /// <summary>Asset symbol as the trader sent it (CREATE_TRADE); resolved by the engine.</summary>
    public string? Symbol;
    public Direction Direction;
    public decimal Margin;
    public decimal Leverage;
    public decimal? StopLossPrice;
    public decimal? TakeProfitPrice;

    /// <summary>
    /// CreateTrade journaled before the stop-loss band (journal formats 1 and 2): its stop-loss
    /// was checked against the open price only, and a replay checks it the same way, so it
    /// rebuilds the trades that were acknowledged.
    /// </summary>
    public bool StopLossCheckedAgainstOpenPrice;

    /// <summary>
    /// The trader's Idempotency-Key for this command, if any. The engine ignores it; it travels in
    /// the journal so that recovery can rebuild the command's order row, key included, after a crash.
    /// </summary>
    public string? IdempotencyKey;

    /// <summary>PriceTick: which asset and the book's best bid and ask.</summary>
    public AssetId Asset;
    public Price Bid;
    public Price Ask;

    public readonly bool IsQuery => Kind is InputKind.GetBalance or InputKind.GetUsdBalance or InputKind.GetOpenTrades;

    public static EngineInput CreateAccount(long seq, long ts, UserId user, Guid orderId = default) =>
        new() { Kind = InputKind.CreateAccount, Sequence = seq, TimestampMs = ts, User = user, OrderId = orderId };

    public static EngineInput Query(InputKind kind, long ts, UserId user, Guid orderId = default) =>
        new() { Kind = kind, TimestampMs = ts, User = user, OrderId = orderId };

    public static EngineInput CreateTrade(long seq, long ts, UserId user, TradeId tradeId, string symbol,
        Direction direction, decimal margin, decimal leverage, decimal? stopLoss = null, decimal? takeProfit = null,
        Guid orderId = default) =>
        new()
        {
            Kind = InputKind.CreateTrade, Sequence = seq, TimestampMs = ts, User = user, TradeId = tradeId,
            Symbol = symbol, Direction = direction, Margin = margin, Leverage = leverage,
            StopLossPrice = stopLoss, TakeProfitPrice = takeProfit, OrderId = orderId,
        };

    public static EngineInput CloseTrade(long seq, long ts, UserId user, TradeId tradeId, Guid orderId = default) =>
        new() { Kind = InputKind.CloseTrade, Sequence = seq, TimestampMs = ts, User = user, TradeId = tradeId, OrderId = orderId };

    public static EngineInput Tick(long seq, long ts, AssetId asset, Price bid, Price ask) =>
        new() { Kind = InputKind.PriceTick, Sequence = seq, TimestampMs = ts, Asset = asset, Bid = bid, Ask = ask };
}
