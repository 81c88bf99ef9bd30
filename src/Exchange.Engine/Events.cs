namespace Exchange.Engine;

/// <summary>An open trade as the engine sees it. StopLoss/TakeProfit are <see cref="Price.None"/> when unset.</summary>
public readonly record struct TradeView(
    TradeId Id,
    UserId Owner,
    AssetId Asset,
    Direction Direction,
    Price OpenPrice,
    Quantity Quantity,
    Usd Margin,
    int Leverage,
    Price LiquidationPrice,
    Price StopLoss,
    Price TakeProfit,
    long OpenSequence,
    long OpenedAtMs)
{
    public Usd Notional => new(Margin.Cents * Leverage);
}

/// <summary>Every event carries its own gap-free sequence (for idempotent consumers) and the input that caused it.</summary>
public readonly record struct EventHeader(long EventSequence, long InputSequence, long TimestampMs, Guid OrderId);

public readonly record struct AccountCreated(EventHeader Header, UserId User, Usd InitialBalance);

public readonly record struct TradeOpened(EventHeader Header, TradeView Trade);

/// <summary>
/// Payout is what went back to the free balance: margin + PnL floored at zero (zero on
/// liquidation). InsuranceFundChange is positive when the fund took leftover equity and
/// negative when it covered a loss beyond the margin.
/// </summary>
public readonly record struct TradeClosed(
    EventHeader Header,
    TradeView Trade,
    CloseReason Reason,
    Price ClosePrice,
    Usd Pnl,
    Usd Payout,
    Usd InsuranceFundChange);

public readonly record struct BalanceChanged(EventHeader Header, UserId User, Usd Free, Usd Locked);

/// <summary>The outcome of a CLOSE_TRADE (or of a trigger), in the seed's terms.</summary>
public readonly record struct CloseResult(Price ClosePrice, Usd Pnl, Usd MarginReturned, Usd TotalReturn);

/// <summary>
/// The reply to one command. Which fields mean something depends on <see cref="Kind"/>;
/// a rejected reply has only <see cref="Code"/>.
/// </summary>
public readonly record struct CommandReply
{
    public InputKind Kind { get; init; }
    public long Sequence { get; init; }
    public Guid OrderId { get; init; }
    public UserId User { get; init; }
    public RejectCode Code { get; init; }

    /// <summary>
    /// Set by the engine host as it hands the reply out: from submission until the command was
    /// durable and answered. The engine has no clock and leaves it zero (so do replays).
    /// </summary>
    public TimeSpan Latency { get; init; }

    public bool Accepted => Code == RejectCode.None;

    /// <summary>CREATE_ACCOUNT: the demo balance credited.</summary>
    public Usd InitialBalance { get; init; }

    /// <summary>Balance queries (and after trades): free USD, locked margin and equity with unrealized PnL.</summary>
    public Usd Free { get; init; }
    public Usd Locked { get; init; }
    public Usd Equity { get; init; }

    /// <summary>CREATE_TRADE and CLOSE_TRADE: the trade.</summary>
    public TradeView Trade { get; init; }
    public CloseResult Close { get; init; }

    /// <summary>GET_OPEN_TRADES: oldest first, with unrealized PnL at the current closing price.</summary>
    public IReadOnlyList<OpenTradeValuation>? OpenTrades { get; init; }
}

public readonly record struct OpenTradeValuation(TradeView Trade, Price MarkPrice, Usd UnrealizedPnl);

/// <summary>
/// Where the engine reports. Called on the engine thread, in order; implementations copy
/// what they keep and return quickly.
/// </summary>
public interface IEngineSink
{
    void OnReply(in CommandReply reply);
    void OnAccountCreated(in AccountCreated e);
    void OnTradeOpened(in TradeOpened e);
    void OnTradeClosed(in TradeClosed e);
    void OnBalanceChanged(in BalanceChanged e);
}
