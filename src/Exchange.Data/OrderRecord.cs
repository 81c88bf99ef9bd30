using Exchange.Engine;
using Exchange.Journal;

namespace Exchange.Data;

/// <summary>Makes an answered command's order row, on the recorder's thread (see <see cref="EventRecorder.RecordOrder(in AnsweredCommand, bool, OrderRowMaker)"/>).</summary>
public delegate OrderRecord OrderRowMaker(in AnsweredCommand command, bool replayed);

/// <summary>An answered command queued as it is; its row is made once, when the writer (or the overflow file) needs it.</summary>
internal sealed class AnsweredOrder(AnsweredCommand command, bool replayed, OrderRowMaker make)
{
    private OrderRecord? _row;

    public OrderRecord Row() => _row ??= make(command, replayed);
}

/// <summary>
/// A command and its outcome as handed to <see cref="EventRecorder.RecordOrder(OrderRecord)"/>.
/// Immutable, because it crosses from the engine's thread to the recorder's; recording the
/// same OrderId again replaces the outcome (pending → success/rejected), never the reverse.
/// One re-created by recovery has no latency (nobody timed it) and never replaces a stored row.
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
    long? LatencyMicros,
    long Sequence,
    long CreatedAtMs,
    string? IdempotencyKey = null)
{
    /// <summary>
    /// Read back from an earlier run's overflow file: it may be newer than orders still to be
    /// re-created by recovery, so it does not move the order cursor (not part of the file's format).
    /// </summary>
    public bool FromEarlierRun { get; init; }

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
