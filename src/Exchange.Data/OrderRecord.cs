using Exchange.Engine;

namespace Exchange.Data;

/// <summary>
/// A command and its outcome as the API hands it to <see cref="EventRecorder.RecordOrder"/>.
/// Immutable, because it crosses from a request thread to the recorder's; recording the same
/// OrderId again replaces the outcome (pending → success/rejected), never the reverse.
/// </summary>
public sealed record OrderRecord(
    Guid OrderId,
    Guid UserId,
    string Command,
    string PayloadJson,
    string Status,
    string Code,
    string? Message,
    string? ResponseJson,
    long LatencyMicros,
    long Sequence,
    long CreatedAtMs,
    string? IdempotencyKey = null)
{
    internal Order ToEntity() => new()
    {
        OrderId = OrderId, UserId = UserId, Command = Command, PayloadJson = PayloadJson, Status = Status,
        Code = Code, Message = Message, ResponseJson = ResponseJson, LatencyMicros = LatencyMicros,
        Sequence = Sequence, CreatedAtMs = CreatedAtMs, IdempotencyKey = IdempotencyKey,
    };

    internal void UpdateOutcome(Order order)
    {
        if (Status == OrderStatus.Pending && order.Status != OrderStatus.Pending) return;
        order.Status = Status;
        order.Code = Code;
        order.Message = Message;
        order.ResponseJson = ResponseJson;
        order.LatencyMicros = LatencyMicros;
        if (Sequence != 0) order.Sequence = Sequence;
    }
}

/// <summary>The strings the database stores for the engine's enums (the API's spelling).</summary>
public static class AuditNames
{
    public static string Direction(Direction direction) => direction switch
    {
        Engine.Direction.Long => "LONG",
        Engine.Direction.Short => "SHORT",
        _ => direction.ToString().ToUpperInvariant(),
    };

    public static string CloseReason(CloseReason reason) => reason switch
    {
        Engine.CloseReason.Manual => "MANUAL",
        Engine.CloseReason.StopLoss => "STOP_LOSS",
        Engine.CloseReason.TakeProfit => "TAKE_PROFIT",
        Engine.CloseReason.Liquidation => "LIQUIDATION",
        _ => reason.ToString().ToUpperInvariant(),
    };

    /// <summary>The seed's command name for an input kind.</summary>
    public static string Command(InputKind kind) => kind switch
    {
        InputKind.CreateAccount => "CREATE_ACCOUNT",
        InputKind.GetBalance => "GET_BALANCE",
        InputKind.GetUsdBalance => "GET_USD_BALANCE",
        InputKind.CreateTrade => "CREATE_TRADE",
        InputKind.CloseTrade => "CLOSE_TRADE",
        InputKind.GetOpenTrades => "GET_OPEN_TRADES",
        _ => kind.ToString().ToUpperInvariant(),
    };
}
