using System.Collections.Concurrent;
using System.Text.Json;
using Exchange.Data;
using Exchange.Engine;
using Exchange.Journal;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Server.Api;

/// <summary>
/// Orders in the database: written through the recorder from the engine's answered commands
/// (so recovery re-creates the ones a crash took from the recorder's queue, keys included),
/// read back by id or idempotency key.
/// </summary>
public sealed class OrderHistory(EventRecorder recorder, IServiceScopeFactory scopes, EngineConfig config, ExchangeSettings settings,
    ILogger<OrderHistory> logger)
{
    private static readonly Dictionary<string, RejectCode> CodesByName =
        Enum.GetValues<RejectCode>().ToDictionary(c => c.Name());

    /// <summary>
    /// Queues a command's row, on the engine thread before its reply completes; the recorder's
    /// thread makes it (<see cref="Row"/>), so the engine only hands the command over.
    /// </summary>
    public void Record(in AnsweredCommand command, bool replayed)
    {
        // A query has no sequence of its own; its row is written by the time the next command's is.
        var sequence = command.Reply.Sequence;
        if (sequence > 0) _lastCommandSequence = sequence;
        else sequence = _lastCommandSequence + 1;
        _latestOrder[command.Input.User.Value] = sequence;
        recorder.RecordOrder(command, replayed, _row ??= Row);
    }

    private OrderRowMaker? _row;

    // Each trader's latest order, as the order sequence whose recording means it is written too;
    // noted on the engine thread (or recovery's) before the reply that tells of the order.
    private readonly ConcurrentDictionary<Guid, long> _latestOrder = new();
    private long _lastCommandSequence;

    /// <summary>Whether one of <paramref name="user"/>'s orders may still wait in the recorder's queue.</summary>
    public bool MayHoldOrderOf(Guid user) =>
        _latestOrder.TryGetValue(user, out var latest) && latest > recorder.RecordedOrderSequence;

    /// <summary>
    /// The row: the payload is the command as the engine took it; one <paramref name="replayed"/>
    /// by recovery has no latency and only fills a gap in the table.
    /// </summary>
    internal OrderRecord Row(in AnsweredCommand command, bool replayed)
    {
        var (input, reply) = command;
        var code = EngineReplies.Public(reply.Code);
        string payload = "{}";
        string? response = null;
        try
        {
            payload = PayloadJson(in input);
            var data = code == RejectCode.None ? EngineReplies.Data(in reply, config) : null;
            response = data is null ? null : JsonSerializer.Serialize(data, data.GetType(), ApiJsonContext.Default);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The outcome is still worth its row. (Every reply shape is serialized by the tests.)
            logger.LogError(e, "Order {OrderId} ({Command}) recorded without its payload or data: they could not be written", input.OrderId, input.Kind.CommandName());
        }
        return new OrderRecord(
            input.OrderId, input.User.Value, input.Kind.CommandName(), payload,
            code == RejectCode.None ? OrderStatus.Success : OrderStatus.Rejected, code.Name(), code.Message(), response,
            replayed ? null : OrderEntry.Micros(reply.Latency), reply.Sequence, OrderEntry.StampedAtMs(input.OrderId), input.IdempotencyKey);
    }

    /// <summary>The command in the engine endpoint's request shape.</summary>
    internal static string PayloadJson(in EngineInput input) => JsonSerializer.Serialize(input.Kind switch
    {
        InputKind.CreateTrade => new EngineRequest(input.Kind.CommandName(), input.Symbol, input.Direction.Name(), input.Margin,
            input.Leverage, input.StopLossPrice, input.TakeProfitPrice),
        InputKind.CloseTrade => new EngineRequest(input.Kind.CommandName(), TradeId: input.TradeId.ToString()),
        _ => new EngineRequest(input.Kind.CommandName()),
    }, ApiJsonContext.Default.EngineRequest);

    /// <summary>
    /// An order by id. One answered a moment ago may still wait in the recorder's queue: on a
    /// miss the queue is written out and the database asked again, so a client always finds an
    /// order it was told about. That early commit is made only when the asker may have such an
    /// order (<paramref name="mayBePending"/>), so made-up ids cannot force one. If the
    /// database is too slow for that, the answer is "not known yet" (<c>Complete</c> false),
    /// never a wrong "no such order".
    /// </summary>
    public async Task<(OrderOutcome? Outcome, bool Complete)> FindAsync(Guid orderId, bool mayBePending)
    {
        IQueryable<Order> ById(IQueryable<Order> q) => q.Where(o => o.OrderId == orderId);
        var found = await FindAsync(ById);
        if (found is not null || !mayBePending) return (found, true);
        if (!await recorder.TryFlushAsync(Wait)) return (null, false); // too slow, or the recorder is stopping
        return (await FindAsync(ById), true);
    }

    /// <summary>How long a read waits for the recorder (<see cref="ExchangeSettings.HistoryWait"/>).</summary>
    public TimeSpan Wait => settings.HistoryWait;

    public Task<OrderOutcome?> FindByIdempotencyKeyAsync(Guid user, string key) =>
        FindAsync(q => q.Where(o => o.UserId == user && o.IdempotencyKey == key));

    private async Task<OrderOutcome?> FindAsync(Func<IQueryable<Order>, IQueryable<Order>> filter)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ExchangeDbContext>();
        var row = await filter(db.Orders.AsNoTracking()).FirstOrDefaultAsync();
        if (row is null) return null;
        object? data = row.ResponseJson is null ? null : JsonDocument.Parse(row.ResponseJson).RootElement.Clone();
        return new OrderOutcome(row.OrderId, row.UserId, row.Command, CodesByName.GetValueOrDefault(row.Code, RejectCode.None),
            data, row.Sequence, row.LatencyMicros is { } micros ? OrderEntry.LatencyMs(micros) : null, row.CreatedAtMs, row.PayloadJson);
    }

    /// <summary>Every order at or below this command sequence is in the database.</summary>
    public long RecordedOrderSequence => recorder.RecordedOrderSequence;

    /// <summary>Whether everything queued before the call reached the database within <paramref name="wait"/>.</summary>
    public Task<bool> TryFlushAsync(TimeSpan wait) => recorder.TryFlushAsync(wait);

    /// <summary>Completes once everything queued before the call is in the database.</summary>
    public Task FlushAsync() => recorder.FlushAsync();
}
