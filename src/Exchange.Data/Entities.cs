namespace Exchange.Data;

// The audit trail's rows. Times are Unix milliseconds (the log's clock, not the database's),
// money and prices are decimals with the engine's exact scale, so every provider stores the
// same numbers and nothing is ever a float.

public sealed class User
{
    public Guid Id { get; set; }

    /// <summary>Stored lower-case (see <see cref="NormalizeEmail"/>), so the unique index is case-insensitive on every provider.</summary>
    public required string Email { get; set; }

    public required string PasswordHash { get; set; }
    public long CreatedAtMs { get; set; }

    /// <summary>The one form of an address that is stored and compared.</summary>
    public static string NormalizeEmail(string email) => email.Trim().ToLowerInvariant();
}

/// <summary>One command as the API received and answered it.</summary>
public sealed class Order
{
    public Guid OrderId { get; set; }
    public Guid UserId { get; set; }

    /// <summary>The seed's command name: CREATE_ACCOUNT, CREATE_TRADE, CLOSE_TRADE, GET_BALANCE, ...</summary>
    public required string Command { get; set; }

    public required string PayloadJson { get; set; }

    /// <summary><see cref="OrderStatus"/>.</summary>
    public required string Status { get; set; }

    /// <summary>"OK" or the engine's reject code name.</summary>
    public required string Code { get; set; }

    public string? Message { get; set; }

    /// <summary>The <c>data</c> the API answered with.</summary>
    public string? ResponseJson { get; set; }

    /// <summary>From submission to the durable answer; null for an order re-created from the journal after a crash.</summary>
    public long? LatencyMicros { get; set; }

    /// <summary>The log sequence the command got (0 for queries, which are not logged).</summary>
    public long Sequence { get; set; }

    public long CreatedAtMs { get; set; }
    public string? IdempotencyKey { get; set; }
}

public static class OrderStatus
{
    public const string Success = "success";
    public const string Rejected = "rejected";

    /// <summary>Sent to the engine, outcome not known yet (for example the request timed out).</summary>
    public const string Pending = "pending";
}

/// <summary>A trade from open to close, written from the engine's TradeOpened and TradeClosed events.</summary>
public sealed class Trade
{
    /// <summary>32 lower-case hex digits, as the API shows it.</summary>
    public required string TradeId { get; set; }

    public Guid UserId { get; set; }
    public required string Asset { get; set; }

    /// <summary>"LONG" or "SHORT".</summary>
    public required string Direction { get; set; }

    public decimal Margin { get; set; }
    public int Leverage { get; set; }
    public decimal Quantity { get; set; }
    public decimal OpenPrice { get; set; }
    public decimal LiquidationPrice { get; set; }
    public decimal? StopLossPrice { get; set; }
    public decimal? TakeProfitPrice { get; set; }
    public long OpenedAtMs { get; set; }
    public long OpenSequence { get; set; }
    public Guid OpenOrderId { get; set; }

    /// <summary><see cref="TradeStatus"/>.</summary>
    public required string Status { get; set; }

    public decimal? ClosePrice { get; set; }

    /// <summary>"MANUAL", "STOP_LOSS", "TAKE_PROFIT" or "LIQUIDATION".</summary>
    public string? CloseReason { get; set; }

    public decimal? Pnl { get; set; }

    /// <summary>What went back to the free balance: margin + PnL floored at zero, zero on liquidation.</summary>
    public decimal? Payout { get; set; }

    /// <summary>Positive when the insurance fund took leftover equity, negative when it covered a loss beyond the margin.</summary>
    public decimal? InsuranceFundChange { get; set; }

    public long? ClosedAtMs { get; set; }

    /// <summary>The input that closed it: a CLOSE_TRADE command or the price tick that fired a trigger.</summary>
    public long? CloseSequence { get; set; }

    /// <summary>The CLOSE_TRADE's order; null when a trigger closed the trade.</summary>
    public Guid? CloseOrderId { get; set; }
}

public static class TradeStatus
{
    public const string Open = "open";
    public const string Closed = "closed";
}

/// <summary>A trader's balance after each change: one row per BalanceChanged event.</summary>
public sealed class LedgerEntry
{
    public long EventSequence { get; set; }
    public Guid UserId { get; set; }
    public decimal Free { get; set; }
    public decimal Locked { get; set; }

    /// <summary><see cref="LedgerReason"/>: what caused the change.</summary>
    public required string Reason { get; set; }

    /// <summary>The trade opened or closed, for TRADE_OPENED and TRADE_CLOSED.</summary>
    public string? TradeId { get; set; }

    /// <summary>The command's order; null when a price tick caused the change.</summary>
    public Guid? OrderId { get; set; }

    public long InputSequence { get; set; }
    public long AtMs { get; set; }
}

public static class LedgerReason
{
    public const string AccountCreated = "ACCOUNT_CREATED";
    public const string TradeOpened = "TRADE_OPENED";
    public const string TradeClosed = "TRADE_CLOSED";

    /// <summary>A change whose cause was not seen (history starting mid-input); InputSequence still says which input.</summary>
    public const string BalanceChanged = "BALANCE_CHANGED";
}

/// <summary>
/// A sign-in token its owner signed out of before it expired: refused from then on, on every
/// server that shares the database. Rows past their expiry are useless and get deleted.
/// </summary>
public sealed class SignedOutToken
{
    /// <summary>The token's <c>jti</c>.</summary>
    public required string TokenId { get; set; }

    public Guid UserId { get; set; }
    public long ExpiresAtMs { get; set; }
}

/// <summary>
/// The highest engine event sequence already written, advanced in the same transaction as
/// the rows, so that a replay skips exactly what is there. One row (Id 1) per engine.
/// </summary>
public sealed class RecorderCursor
{
    public const int DefaultId = 1;

    public int Id { get; set; }
    public long LastEventSequence { get; set; }

    /// <summary>
    /// The highest input sequence of a journaled command whose order row is written (orders are
    /// written in sequence order): recovery re-creates only the orders after it.
    /// </summary>
    public long LastOrderSequence { get; set; }
}

/// <summary>
/// One OHLC bar of bid prices for an asset and interval. The key says which: the bucket opens
/// at <see cref="OpenTimeMs"/>, a UTC-epoch multiple of the interval, and covers
/// [OpenTimeMs, OpenTimeMs + IntervalSeconds × 1000).
/// </summary>
public sealed class Candle
{
    public required string Asset { get; set; }
    public int IntervalSeconds { get; set; }
    public long OpenTimeMs { get; set; }
    public decimal Open { get; set; }
    public decimal High { get; set; }
    public decimal Low { get; set; }
    public decimal Close { get; set; }

    public Candle Clone() => (Candle)MemberwiseClone();

    public override string ToString() =>
        FormattableString.Invariant($"{Asset} {IntervalSeconds}s @{OpenTimeMs}: O {Open} H {High} L {Low} C {Close}");
}
