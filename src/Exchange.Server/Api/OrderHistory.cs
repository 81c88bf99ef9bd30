using System.Text.Json;
using Exchange.Data;
using Exchange.Engine;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Server.Api;

/// <summary>Orders in the database: written through the recorder (the engine never waits), read back by id or idempotency key.</summary>
public sealed class OrderHistory(EventRecorder recorder, IServiceScopeFactory scopes)
{
    private static readonly Dictionary<string, RejectCode> CodesByName =
        Enum.GetValues<RejectCode>().ToDictionary(c => c.Name());

    public void Record(OrderOutcome outcome, string? idempotencyKey) => recorder.RecordOrder(new OrderRecord(
        outcome.OrderId, outcome.UserId, outcome.Command, outcome.PayloadJson,
        outcome.Success ? OrderStatus.Success : OrderStatus.Rejected, outcome.Code.Name(), outcome.Code.Message(),
        outcome.Data is null ? null : JsonSerializer.Serialize(outcome.Data, outcome.Data.GetType(), ApiJsonContext.Default),
        (long)(outcome.LatencyMs * 1000), outcome.Sequence, outcome.CreatedAtMs, idempotencyKey));

    /// <summary>
    /// An order by id. One answered a moment ago may still wait in the recorder's queue: on a
    /// miss the queue is written out and the database asked again, so a client always finds an
    /// order it was told about. Only ids that could be such an order (<paramref name="mayBePending"/>:
    /// stamped by this server in the last minutes) are worth that early commit. If the
    /// database is too slow for that, the answer is "not known yet" (<c>Complete</c> false),
    /// never a wrong "no such order".
    /// </summary>
    public async Task<(OrderOutcome? Outcome, bool Complete)> FindAsync(Guid orderId, bool mayBePending)
    {
        IQueryable<Order> ById(IQueryable<Order> q) => q.Where(o => o.OrderId == orderId);
        var found = await FindAsync(ById);
        if (found is not null || !mayBePending) return (found, true);
        if (!await recorder.TryFlushAsync(FlushWait)) return (null, false); // too slow, or the recorder is stopping
        return (await FindAsync(ById), true);
    }

    private static readonly TimeSpan FlushWait = TimeSpan.FromSeconds(2);

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
            data, row.Sequence, row.LatencyMicros / 1000m, row.CreatedAtMs, row.PayloadJson);
    }
}
