using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using System.Text.Json;
using Exchange.Engine;
using Exchange.Journal;

namespace Exchange.Server.Api;

/// <summary>
/// What became of one command, already in API terms, so a fresh outcome and one read back
/// from the database (for GET /orders or an idempotent retry after a restart) look the same.
/// </summary>
public sealed record OrderOutcome(
    Guid OrderId,
    Guid UserId,
    string Command,
    RejectCode Code,
    object? Data,
    long Sequence,
    decimal? LatencyMs,
    long CreatedAtMs,
    string? PayloadJson = null)
{
    public bool Success => Code == RejectCode.None;
    public string Status => Success ? "success" : "rejected";
    public int HttpStatus => EngineReplies.StatusCode(Code);
}

/// <summary>
/// The order-entry gateway between HTTP and the engine: stamps each command with a
/// time-ordered order id (and trade id for CREATE_TRADE) and its Idempotency-Key before it
/// enters the log, submits it, and honours the key so a retried write never runs twice, also
/// after a crash (the engine's listener records the order, from the journal at recovery).
/// </summary>
public sealed class OrderEntry(EngineHost engine, TimeProvider time, OrderHistory history)
{
    // Built after recovery (it needs the engine host), so this flush follows the orders that
    // recovery re-created: until they are in the database, a key's look-up there could miss one.
    private Task _recoveredOrdersRecorded = history.FlushAsync();

    /// <summary>The flush of the recovered orders; one cut short (by a stopping recorder) is asked for again.</summary>
    private Task RecoveredOrdersRecorded()
    {
        var flush = Volatile.Read(ref _recoveredOrdersRecorded);
        if (!flush.IsCanceled && !flush.IsFaulted) return flush;
        Volatile.Write(ref _recoveredOrdersRecorded, flush = history.FlushAsync());
        return flush;
    }

    public const string MeterName = "Exchange.Api";
    private static readonly Meter Meter = new(MeterName);
    private static readonly Histogram<double> CommandLatency = Meter.CreateHistogram("exchange_command_latency", "s",
        "From the API handing a command to the engine until its durable reply, by command and outcome", tags: null,
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets.FineSeconds });

    private readonly ConcurrentDictionary<(Guid User, string Key), KeyedOrder> _idempotent = new();
    // Keys in the order they were first used, each with the entry it was remembered with (a key
    // forgotten and used again is in here twice, and only its newer entry counts).
    private readonly ConcurrentQueue<((Guid User, string Key) Key, KeyedOrder Order)> _idempotentOrder = new();
    private readonly Lock _forgetting = new();
    // Per trader, the highest command sequence among their keys forgotten before the database had the order.
    private readonly ConcurrentDictionary<Guid, long> _forgottenUnrecorded = new();

    /// <summary>How many keys are kept in memory; older ones are looked up in the database.</summary>
    internal int RememberedKeys { get; set; } = 100_000;

    public EngineConfig Config => engine.Config;

    public Task<OrderOutcome> SubmitAsync(Guid user, EngineInput input, string? idempotencyKey)
    {
        if (input.IsQuery || idempotencyKey is null) return RunAsync(user, input, null);
        // The first request with a key runs; every retry, even a concurrent one, gets its outcome.
        // A different request under a used key is refused: answering it with the first one's
        // outcome would tell the client that something it never asked for went through.
        var key = (user, idempotencyKey);
        var request = RequestFingerprint(input.Kind.CommandName(), OrderHistory.PayloadJson(in input));
        KeyedOrder? made = null;
        var entry = _idempotent.GetOrAdd(key, k => made = new KeyedOrder(request, mine => FindOrRunAsync(k, mine, input)));
        if (entry.Request != request) return DifferentRequestAsync(key, entry.Outcome.Value, input);
        var outcome = entry.Outcome.Value;
        if (ReferenceEquals(entry, made))
        {
            _idempotentOrder.Enqueue((key, entry));
            ForgetOldestKeys();
        }
        return outcome;
    }

    /// <summary>
    /// Forgets the oldest keys past <see cref="RememberedKeys"/>. A forgotten key's order may still
    /// be on its way to the database, where a retry would look for it: the trader's highest such
    /// sequence is kept, and their next look-up waits until the recorder has written that far
    /// (<see cref="FindOrRunAsync"/>). An order still running has no sequence yet, so forgetting
    /// stops there.
    /// </summary>
    private void ForgetOldestKeys()
    {
        if (_idempotentOrder.Count <= RememberedKeys || !_forgetting.TryEnter()) return;
        try
        {
            while (_idempotentOrder.Count > RememberedKeys && _idempotentOrder.TryPeek(out var oldest))
            {
                var running = oldest.Order.Outcome.Value;
                if (!running.IsCompleted && _idempotent.TryGetValue(oldest.Key, out var now) && now == oldest.Order) return;
                _idempotentOrder.TryDequeue(out _); // only this thread dequeues
                if (running.IsCompletedSuccessfully && running.Result.Sequence is var sequence && sequence > history.RecordedOrderSequence)
                    _forgottenUnrecorded.AddOrUpdate(oldest.Key.User, sequence, (_, before) => Math.Max(before, sequence));
                Forget(oldest.Key, oldest.Order);
            }
        }
        finally
        {
            _forgetting.Exit();
        }
    }

    /// <summary>
    /// A key's first request in this process and its outcome, looked up in the database (after a
    /// restart the key may be older than the process) or run, once.
    /// </summary>
    private sealed class KeyedOrder
    {
        public KeyedOrder(string request, Func<KeyedOrder, Task<OrderOutcome>> findOrRun)
        {
            Request = request;
            Outcome = new(() => findOrRun(this));
        }

        public string Request { get; }

        public Lazy<Task<OrderOutcome>> Outcome { get; }
    }

    /// <summary>
    /// A request that differs from the one remembered under its key. The remembered one may have
    /// been forgotten, or be forgotten once its look-up ends: the look-up failed (a retry looks
    /// again), or the database holds the key's first request after a restart, which may be this
    /// one. Then this request is asked for again. Otherwise the key is taken: 422.
    /// </summary>
    private async Task<OrderOutcome> DifferentRequestAsync((Guid User, string Key) key, Task<OrderOutcome> remembered, EngineInput input)
    {
        // Not inline: the remembered order completes on the engine thread.
        await ((Task)remembered).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ForceYielding);
        if (remembered.IsCompletedSuccessfully || _idempotent.TryGetValue(key, out var now) && now.Outcome.IsValueCreated && now.Outcome.Value == remembered)
            throw new IdempotencyKeyReusedException();
        return await SubmitAsync(key.User, input, key.Key);
    }

    private async Task<OrderOutcome> FindOrRunAsync((Guid User, string Key) key, KeyedOrder mine, EngineInput input)
    {
        var request = mine.Request;
        await Task.Yield(); // the look-up is a synchronous SQLite read; off the socket thread (see SocketThreads)
        OrderOutcome? first;
        try
        {
            if (RecoveredOrdersRecorded() is { IsCompletedSuccessfully: false } recovered && !await CompletedWithinAsync(recovered, history.Wait))
                throw new OrderHistoryBehindException();
            // This key may be one forgotten while its order waited in the recorder's queue.
            if (_forgottenUnrecorded.TryGetValue(key.User, out var forgotten))
            {
                if (history.RecordedOrderSequence < forgotten && !await history.TryFlushAsync(history.Wait))
                    throw new OrderHistoryBehindException();
                _forgottenUnrecorded.TryRemove(KeyValuePair.Create(key.User, forgotten));
            }
            first = await history.FindByIdempotencyKeyAsync(key.User, key.Key);
        }
        catch
        {
            Forget(key, mine); // not answered (the database failed, say): a retry looks again
            throw;
        }
        if (first is null) return await RunAsync(key.User, input, key.Key);
        if (RequestFingerprint(first.Command, first.PayloadJson!) == request) return first;
        Forget(key, mine); // remembered with this request's fingerprint, not the first one's
        throw new IdempotencyKeyReusedException();
    }

    /// <summary>Forgets <paramref name="order"/>, not a newer request remembered under its key since.</summary>
    private void Forget((Guid User, string Key) key, KeyedOrder order) =>
        _idempotent.TryRemove(KeyValuePair.Create(key, order));

    private static async Task<bool> CompletedWithinAsync(Task task, TimeSpan wait)
    {
        await Task.WhenAny(task, Task.Delay(wait)).ConfigureAwait(false);
        return task.IsCompletedSuccessfully;
    }

    // Only the fields each command uses: a stray one (a tradeId sent with CREATE_TRADE) changes nothing it asks for.
    private static readonly string[] TradeFields = ["asset", "direction", "margin", "leverage", "stopLossPrice", "takeProfitPrice"];
    private static readonly string[] CloseFields = ["tradeId"];

    /// <summary>
    /// What a write asks for, whichever route carried it: the command and its fields, numbers by
    /// value (a margin of 100 and of 100.0 are one margin), the direction in any case. From the
    /// stored payload: rows written before payloads were made from the input hold the request's
    /// own JSON, so the fingerprint reads JSON rather than the input.
    /// </summary>
    internal static string RequestFingerprint(string command, string payloadJson)
    {
        using var payload = JsonDocument.Parse(payloadJson);
        var text = new System.Text.StringBuilder(command);
        var fields = command switch { "CREATE_TRADE" => TradeFields, "CLOSE_TRADE" => CloseFields, _ => [] };
        foreach (var name in fields)
        {
            text.Append('|');
            if (!payload.RootElement.TryGetProperty(name, out var value)) continue;
            text.Append(value.ValueKind switch
            {
                JsonValueKind.Number => value.GetDecimal().ToString("G29", System.Globalization.CultureInfo.InvariantCulture),
                // As the engine reads them: asset and direction in any case, a trade id in either hex case.
                JsonValueKind.String when name == "tradeId" && TradeId.TryParse(value.GetString(), out var trade) => trade.ToString(),
                JsonValueKind.String when name is "direction" or "asset" => value.GetString()!.ToUpperInvariant(),
                JsonValueKind.String => value.GetString(),
                _ => "",
            });
        }
        return text.ToString();
    }

    private async Task<OrderOutcome> RunAsync(Guid user, EngineInput input, string? idempotencyKey)
    {
        var now = time.GetUtcNow();
        input.User = new UserId(user);
        input.OrderId = Guid.CreateVersion7(now);
        input.IdempotencyKey = idempotencyKey;
        if (input.Kind == InputKind.CreateTrade) input.TradeId = NewTradeId(now);
        // Resumes on the engine thread: what follows, and the handler's reply, take microseconds.
        // The engine's listener has queued the order's row by then (OrderHistory.Record).
        var reply = await engine.SubmitAsync(input, continueOnEngineThread: true);
        CommandLatency.Record(reply.Latency.TotalSeconds, new KeyValuePair<string, object?>("command", reply.Kind.CommandName()),
            new KeyValuePair<string, object?>("outcome", reply.Accepted ? "accepted" : "rejected"));
        return new OrderOutcome(input.OrderId, user, reply.Kind.CommandName(), EngineReplies.Public(reply.Code),
            EngineReplies.Data(in reply, engine.Config), reply.Sequence, LatencyMs(reply.Latency), now.ToUnixTimeMilliseconds());
    }

    /// <summary>Milliseconds to the microsecond, as the row stores them.</summary>
    internal static decimal LatencyMs(TimeSpan latency) => LatencyMs(Micros(latency));

    internal static decimal LatencyMs(long micros) => micros / 1000m;

    internal static long Micros(TimeSpan latency) => latency.Ticks / TimeSpan.TicksPerMicrosecond;

    /// <summary>An order by id, if it belongs to <paramref name="user"/>; <c>Complete</c> is false while the database lags too far behind to say.</summary>
    public async Task<(OrderOutcome? Outcome, bool Complete)> FindAsync(Guid user, Guid orderId)
    {
        // Orders re-made by recovery may still be on their way to the database, however old they are.
        var mayBePending = history.MayHoldOrderOf(user) || !RecoveredOrdersRecorded().IsCompletedSuccessfully;
        var (outcome, complete) = await history.FindAsync(orderId, mayBePending);
        return (outcome?.UserId == user ? outcome : null, complete);
    }

    /// <summary>The Unix milliseconds in a UUIDv7 order id: when order entry stamped it (the order's creation time).</summary>
    internal static long StampedAtMs(Guid orderId)
    {
        Span<byte> bytes = stackalloc byte[16];
        orderId.TryWriteBytes(bytes, bigEndian: true, out _);
        return (long)(System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes) >> 16);
    }

    public Task<CommandReply> QueryAsync(Guid user, InputKind kind) =>
        engine.SubmitAsync(new EngineInput { Kind = kind, User = new UserId(user) });

    /// <summary>
    /// 48 bits of Unix milliseconds, then 80 random bits: as unguessable as a random id for
    /// anyone without the account (and ownership is checked anyway), but new ids sort after
    /// old ones, so the database appends to the end of the trades index instead of dirtying a
    /// random page of it per insert (likewise order ids are UUIDv7).
    /// </summary>
    internal static TradeId NewTradeId(DateTimeOffset now)
    {
        Span<byte> random = stackalloc byte[10];
        RandomNumberGenerator.Fill(random);
        var ms = (ulong)now.ToUnixTimeMilliseconds() & 0xFFFF_FFFF_FFFF;
        var high = (ms << 16) | BitConverter.ToUInt16(random);
        return new TradeId(new UInt128(high, BitConverter.ToUInt64(random[2..])));
    }
}

/// <summary>Orders the engine answered (or recovery re-created) are not in the database yet: a key cannot be looked up safely.</summary>
public sealed class OrderHistoryBehindException(string message = "Earlier orders are still being written to the audit trail; retry in a moment.")
    : InvalidOperationException(message);

/// <summary>An Idempotency-Key already used for a different request by the same trader.</summary>
public sealed class IdempotencyKeyReusedException()
    : InvalidOperationException("This Idempotency-Key was already used for a different request: send a new key with a new request.");
