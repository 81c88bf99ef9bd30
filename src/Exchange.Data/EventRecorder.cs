using System.Diagnostics;
using System.Diagnostics.Metrics;
using Exchange.Engine;
using Exchange.Journal;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Exchange.Data;

public sealed record EventRecorderOptions
{
    /// <summary>
    /// Items (events and orders) that wait for the database in memory: some seconds of
    /// full-speed trading, tens of MB. Beyond that they wait in <see cref="OverflowDirectory"/>.
    /// </summary>
    public int QueueCapacity { get; init; } = 250_000;

    /// <summary>
    /// Where items wait once memory is full (created when needed, deleted once drained), and where
    /// orders the database did not take at shutdown wait for the next start. The server uses
    /// <c>recorder-overflow</c> in its data folder; null (tests, tools) means a new temporary folder.
    /// </summary>
    public string? OverflowDirectory { get; init; }

    /// <summary>Most items written in one transaction.</summary>
    public int MaxBatch { get; init; } = 20_000;

    /// <summary>
    /// How long the writer lets items gather before it starts a transaction, unless a batch is
    /// already full or someone waits (a flush, <see cref="EventRecorder.WhenRecordedAsync"/>, shutdown).
    /// Each commit rewrites every page it touched (table and index pages alike) and fsyncs the
    /// WAL, so many small transactions cost far more disk and CPU than a few larger ones; nothing
    /// on the trading path waits for the recorder.
    /// </summary>
    public TimeSpan Linger { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Longest pause between retries while the database fails.</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// Writes the engine's events (trades, ledger) and answered commands' orders to the database in
/// batches, one transaction each, off the engine's thread.
/// <para>
/// Idempotent by event sequence: each transaction also advances <see cref="RecorderCursor"/>,
/// and events at or below it are skipped, so recovery's replays and overlapping deliveries
/// never duplicate a row. Orders are idempotent by OrderId.
/// </para>
/// <para>
/// The engine never waits: <see cref="OnEvents"/> and <see cref="RecordOrder(OrderRecord)"/> only enqueue.
/// Items wait in memory, and once that is full in an overflow file (<see cref="RecorderQueue"/>,
/// counted in <see cref="Overflowed"/>), so a database that is away for an hour costs disk
/// space, not trading. Neither dropping (lost audit rows) nor blocking the caller (trading
/// stalls behind the database) is acceptable, and an unbounded memory queue would only move
/// the failure to memory.
/// </para>
/// <para>
/// Events and orders lost in a crash are re-created: the engine host writes a snapshot only once
/// <see cref="RecordedEventSequence"/> covers it and a <see cref="FlushAsync"/> after its last
/// answered command completed, so whatever was queued but not committed is re-created by the
/// next recovery (orders from the journaled commands, without their latency). Orders the
/// database has not taken at shutdown also wait in the overflow file for the next start.
/// </para>
/// </summary>
public sealed partial class EventRecorder : BackgroundService, IEngineEventListener
{
    private readonly IDbContextFactory<ExchangeDbContext> _factory;
    private readonly IReadOnlyList<AssetSpec> _assets;
    private readonly ILogger _logger;
    private readonly EventRecorderOptions _options;
    private readonly RecorderQueue _queue;
    private readonly Lock _waitersLock = new();
    private readonly List<(long Sequence, TaskCompletionSource Done)> _waiters = [];
    private readonly Meter _meter;
    private readonly Histogram<double> _batchSeconds;
    private readonly BulkWriter _bulk = new();
    private readonly BatchRows _rows = new();

    private long _recorded;
    private long _recordedOrders;
    private readonly Lock _cursorGate = new(); // a cursor loaded late is checked and published, or refused, as one step
    private long _cursorCeiling = long.MaxValue;
    private long _eventsWritten;
    private long _eventsSkipped;
    private long _ordersWritten;
    private readonly DatabaseRetry _retry;
    private TaskCompletionSource _hurry = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _stopping;

    // The last event seen (written or skipped) before the next batch: the cause of a
    // BalanceChanged is the event just before it in the same input, and a batch may split them.
    private object? _previousEvent;

    public EventRecorder(IDbContextFactory<ExchangeDbContext> factory, EngineConfig engineConfig, ILogger<EventRecorder> logger,
        EventRecorderOptions? options = null)
    {
        _factory = factory;
        _assets = engineConfig.Assets;
        _logger = logger;
        _options = options ?? new EventRecorderOptions();
        _retry = new DatabaseRetry(_options.MaxRetryDelay, TimeProvider.System, logger);
        _queue = new RecorderQueue(_options.QueueCapacity,
            _options.OverflowDirectory ?? Path.Combine(Path.GetTempPath(), $"exchange-recorder-overflow-{Guid.NewGuid():N}"), logger);
        _meter = new Meter("Exchange.Data.EventRecorder");
        _meter.CreateObservableGauge("exchange_recorder_queue_length", () => QueueLength,
            description: "Events and orders waiting to be written to the database");
        _meter.CreateObservableGauge("exchange_recorder_event_sequence", () => RecordedEventSequence,
            description: "Highest engine event sequence written to the database");
        _meter.CreateObservableCounter("exchange_recorder_overflowed", () => Overflowed,
            description: "Items that waited in the overflow file because the recorder's memory queue was full");
        _meter.CreateObservableCounter("exchange_recorder_catch_ups", () => CatchUps,
            description: "Times the recorder fell more than a full batch behind and left the background to catch up");
        _meter.CreateObservableGauge("exchange_recorder_consecutive_failures", () => ConsecutiveFailures,
            description: "Failed database writes since the last success");
        // A batch's transaction shares the machine (and in embedded mode the disk) with the trading
        // path: tens of ms per batch at a few thousand commands/s is where latency tails start.
        _batchSeconds = _meter.CreateHistogram("exchange_recorder_batch_duration", "s",
            "Time of each committed recorder transaction (rows built, written and committed)", tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5] });
    }

    /// <summary>Every event at or below this is committed to the database.</summary>
    public long RecordedEventSequence => Volatile.Read(ref _recorded);

    /// <summary>
    /// How far the database has recorded events, read once recovery is done (0 if the cursor
    /// could not be read at start), and from then on the most a cursor the writer reads later may
    /// say: <paramref name="lastEngineEvent"/>, the engine's last event. Nothing can be recorded
    /// before the cursor is known, so a later cursor past it means the database belongs to another
    /// data folder, which the start's check could not tell: loading it fails, and goes on failing
    /// (the recorder reported failing, snapshots held back, the journal kept), instead of skipping
    /// the engine's events up to it as recorded.
    /// </summary>
    public long RecordedEventsCappedAt(long lastEngineEvent)
    {
        lock (_cursorGate)
        {
            _cursorCeiling = lastEngineEvent;
            return RecordedEventSequence;
        }
    }

    /// <summary>
    /// Every journaled command's order at or below this input sequence is committed (known from
    /// <see cref="StartAsync"/> on): recovery need not re-create those.
    /// </summary>
    public long RecordedOrderSequence => Volatile.Read(ref _recordedOrders);

    /// <summary>Items waiting, in memory and in the overflow file.</summary>
    public int QueueLength => _queue.Count;

    /// <summary>Items that went to the overflow file because the memory queue was full.</summary>
    public long Overflowed => _queue.Overflowed;
    public long EventsWritten => Interlocked.Read(ref _eventsWritten);
    public long EventsSkipped => Interlocked.Read(ref _eventsSkipped);
    public long OrdersWritten => Interlocked.Read(ref _ordersWritten);

    /// <summary>Database writes that failed in a row; 0 when the last one succeeded (for /readyz).</summary>
    public int ConsecutiveFailures => _retry.ConsecutiveFailures;

    /// <summary>The last write failed: a snapshot waiting for the recorder gives up at once.</summary>
    public bool IsFailing => ConsecutiveFailures > 0;

    /// <summary>Called on the engine thread once the inputs are durable (it commits the journal itself). Only enqueues.</summary>
    public void OnEvents(IReadOnlyList<object> events, bool replayed)
    {
        // Recovery replays from the snapshot; most of that may be in the database already.
        // The last recorded event before new ones still goes through (the writer skips it):
        // it may be the cause of the first new BalanceChanged.
        var recorded = RecordedEventSequence;
        object? cause = null;
        for (var i = 0; i < events.Count; i++)
        {
            var e = events[i];
            if (!TryHeader(e, out var header))
            {
                _logger.LogWarning("Ignoring an unknown event type {Type}", e.GetType().Name);
                continue;
            }
            if (header.EventSequence <= recorded)
            {
                cause = e;
                continue;
            }
            if (cause is not null) Enqueue(cause);
            cause = null;
            Enqueue(e);
        }
    }

    /// <summary>Queues a command's row; written in the next batch.</summary>
    public void RecordOrder(OrderRecord order)
    {
        ArgumentNullException.ThrowIfNull(order);
        Enqueue(order);
    }

    /// <summary>
    /// Queues an answered command whose row <paramref name="make"/> makes later, on the recorder's
    /// thread: serializing a row takes microseconds the engine thread, which calls this, does not have.
    /// </summary>
    public void RecordOrder(in AnsweredCommand command, bool replayed, OrderRowMaker make)
    {
        ArgumentNullException.ThrowIfNull(make);
        Enqueue(new AnsweredOrder(command, replayed, make));
    }

    /// <summary>Completes once everything queued before the call is committed.</summary>
    public Task FlushAsync()
    {
        var marker = new FlushMarker();
        Enqueue(marker);
        Hurry();
        return marker.Done.Task;
    }

    /// <summary>
    /// <see cref="FlushAsync"/> for a caller that must answer in time: true once everything queued
    /// before the call is committed, false if that takes longer than <paramref name="wait"/> or the
    /// recorder is stopping.
    /// </summary>
    public async Task<bool> TryFlushAsync(TimeSpan wait)
    {
        try
        {
            await FlushAsync().WaitAsync(wait).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>
    /// <see cref="WhenRecordedAsync"/> for a caller that must answer in time: true once the
    /// database holds every event up to <paramref name="eventSequence"/>, false if that takes
    /// longer than <paramref name="wait"/> or the recorder is stopping.
    /// </summary>
    public async Task<bool> TryWhenRecordedAsync(long eventSequence, TimeSpan wait)
    {
        using var giveUp = new CancellationTokenSource(wait);
        try
        {
            await WhenRecordedAsync(eventSequence, giveUp.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Completes once the database holds every event up to <paramref name="eventSequence"/>; cancelled if the recorder stops first.</summary>
    public Task WhenRecordedAsync(long eventSequence, CancellationToken cancellationToken = default)
    {
        if (RecordedEventSequence >= eventSequence) return Task.CompletedTask;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_waitersLock)
        {
            _waiters.Add((eventSequence, done));
        }
        // The batch may have committed between the check and the registration.
        ReleaseWaiters();
        if (_writingEnded) CancelWaiters(); // stopped between the check and the registration
        Hurry();
        return cancellationToken.CanBeCanceled ? WaitOrWithdrawAsync(done, cancellationToken) : done.Task;
    }

    /// <summary>
    /// A caller that gives up takes its waiter back: readers that time out again and again while
    /// the database is away would otherwise pile waiters up until it returns.
    /// </summary>
    private async Task WaitOrWithdrawAsync(TaskCompletionSource done, CancellationToken cancellationToken)
    {
        try
        {
            await done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            lock (_waitersLock) _waiters.RemoveAll(w => w.Done == done);
            throw;
        }
    }

    /// <summary>Callers waiting in <see cref="WhenRecordedAsync"/>.</summary>
    internal int Waiters
    {
        get
        {
            lock (_waitersLock) return _waiters.Count;
        }
    }

    /// <summary>
    /// Reads how far events and orders are recorded before the engine recovers (hosted services
    /// start in order), so that recovery hands over only the replayed events and commands the
    /// database lacks, instead of queueing everything since the snapshot for the writer to skip
    /// (and re-making every order's row). If the database cannot say now, recovery hands over
    /// all of them, and the writer skips the recorded ones.
    /// </summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await LoadCursorAsync(cancellationToken).ConfigureAwait(false);
            _cursorLoaded = true; // the writer, started below, need not read it again
        }
        catch (System.Data.Common.DbException e)
        {
            _logger.LogWarning(e, "Could not read how far orders are recorded; recovery re-creates every order since the snapshot");
        }
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // Write what is queued, unless the host's shutdown timeout runs out first or the database
        // refuses writes (then nothing is gained by waiting: the orders wait in the overflow file
        // and recovery re-creates the events).
        _stopping = true;
        Hurry();
        _queue.Complete();
        if (ExecuteTask is not { } loop) return;
        while (!loop.IsCompleted && !cancellationToken.IsCancellationRequested && !IsFailing)
            await Task.WhenAny(loop, Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken)).ConfigureAwait(false);
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        // Told to stop, the writer parks the orders it did not write in the overflow file. A
        // moment more for that, so they are there before the file is closed.
        await Task.WhenAny(loop, Task.Delay(TimeSpan.FromSeconds(2), CancellationToken.None)).ConfigureAwait(false);
    }

    public override void Dispose()
    {
        base.Dispose(); // tells the writer to stop, if StopAsync did not
        // As it stops, the writer parks what the database did not take: let it finish first.
        if (ExecuteTask is { } loop) Task.WhenAny(loop, Task.Delay(TimeSpan.FromSeconds(5))).Wait();
        _queue.Dispose();
        _meter.Dispose();
    }

    private void Enqueue(object item)
    {
        if (_queue.TryWrite(item)) return;
        // Stopped: a later recovery re-creates events that were not recorded.
        _logger.LogWarning("Event recorder stopped; not recording {Item}", item.GetType().Name);
        if (item is FlushMarker marker) marker.Done.TrySetCanceled();
    }

    private void Hurry() => Volatile.Read(ref _hurry).TrySetResult();

    private async Task LoadCursorAsync(CancellationToken cancellationToken)
    {
        await using var db = await _factory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var cursor = await db.RecorderCursors.AsNoTracking()
            .SingleAsync(c => c.Id == RecorderCursor.DefaultId, cancellationToken).ConfigureAwait(false);
        _sqlite = db.Database.IsSqlite();
        if (_sqlite && PacedSqliteSync.IsSupported) _sqliteSync = await PacedSqliteSyncForAsync(db, cancellationToken).ConfigureAwait(false);
        // A run that stopped between a commit and its sync left that commit in the page cache only.
        _sqliteSync?.FlushCommit(paced: false);
        lock (_cursorGate)
        {
            if (cursor.LastEventSequence > _cursorCeiling)
                throw new InvalidOperationException(
                    $"The database has recorded events up to {cursor.LastEventSequence}, but this data folder's engine had recovered to event " +
                    $"{_cursorCeiling}: the database belongs to another data folder. Nothing is written to it; stop the exchange and give it its own database.");
            Volatile.Write(ref _recordedOrders, cursor.LastOrderSequence);
            Volatile.Write(ref _recorded, cursor.LastEventSequence); // inside the gate; Publish below releases the waiters outside it
        }
        Publish(cursor.LastEventSequence, markers: null);
        _logger.LogInformation("Event recorder resumes after event {Sequence}", cursor.LastEventSequence);
    }

    /// <summary>The recorder's own syncs, for a database file in WAL mode (the server's; not an in-memory one).</summary>
    private static async Task<PacedSqliteSync?> PacedSqliteSyncForAsync(ExchangeDbContext db, CancellationToken cancellationToken)
    {
        var path = new SqliteConnectionStringBuilder(db.Database.GetConnectionString()).DataSource;
        await db.Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.CommandText = "PRAGMA journal_mode;";
        var mode = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
        return string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase) && !string.IsNullOrEmpty(path)
            ? new PacedSqliteSync(Path.GetFullPath(path))
            : null;
    }

    /// <summary>
    /// What one batch writes: inserts go out as multi-row statements, closes of stored trades as
    /// keyed updates. One instance serves every batch (the writer is single): cleared, its
    /// collections keep their capacity, where new ones sized for a batch of thousands of items
    /// were large-object garbage each time (docs/benchmarks.md, twelfth pass).
    /// </summary>
    private sealed class BatchRows
    {
        /// <summary>Trades of this batch already in the database, with their status there.</summary>
        public Dictionary<string, string> StoredStatus { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, Trade> NewTrades { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, Trade> ClosedStored { get; } = new(StringComparer.Ordinal);
        public List<LedgerEntry> Ledger { get; } = [];
        public List<Order> NewOrders { get; } = [];
        public Dictionary<Guid, Order> OrdersById { get; } = [];
        public Dictionary<(Guid UserId, string Key), Guid> OrdersByKey { get; } = [];

        // Working space of the look-ups and the writes.
        public HashSet<string> TradeIds { get; } = new(StringComparer.Ordinal);
        public List<string> Strings { get; } = [];
        public List<Guid> Guids { get; } = [];
        public List<OrderRecord> KeyedOrders { get; } = [];
        public List<Trade> Trades { get; } = [];

        public void Clear()
        {
            StoredStatus.Clear();
            NewTrades.Clear();
            ClosedStored.Clear();
            Ledger.Clear();
            NewOrders.Clear();
            OrdersById.Clear();
            OrdersByKey.Clear();
            TradeIds.Clear();
            Strings.Clear();
            Guids.Clear();
            KeyedOrders.Clear();
            Trades.Clear();
        }
    }

    /// <summary>
    /// Most ids per look-up query. They go in as one JSON text parameter, and the text of a whole
    /// batch (and its UTF-8 copy) landed on the large-object heap, whose churn set off gen2
    /// collections at 10,000 commands/s; 800 ids keep both below it.
    /// </summary>
    private const int LookupChunk = 800;

    private static readonly string[] CloseColumns =
    [
        nameof(Trade.Status), nameof(Trade.ClosePrice), nameof(Trade.CloseReason), nameof(Trade.Pnl), nameof(Trade.Payout),
        nameof(Trade.InsuranceFundChange), nameof(Trade.ClosedAtMs), nameof(Trade.CloseSequence), nameof(Trade.CloseOrderId),
    ];

    private async Task WriteBatchAsync(List<object> batch, CancellationToken cancellationToken)
    {
        try
        {
            await WriteBatchAsync(batch, _rows, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _rows.Clear(); // nothing of this batch stays reachable, and a failed attempt leaves nothing for its retry
        }
    }

    private async Task WriteBatchAsync(List<object> batch, BatchRows rows, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        await using var db = await _factory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        if (_sqliteSync is not null)
        {
            // Opened first so that the settings hold for the batch's transaction.
            await db.Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await db.Database.ExecuteSqlRawAsync(PacedSqliteSync.BatchSettings, cancellationToken).ConfigureAwait(false);
        }
        try
        {
            await WriteBatchAsync(db, batch, rows, started, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // Back to what the rest of the pool has before the connection returns to it: the last
            // connection to close checkpoints, and with the batch's settings it would skip the syncs.
            if (_sqliteSync is not null)
                await db.Database.ExecuteSqlRawAsync(SqliteConnectionSettings.Pragmas, CancellationToken.None).ConfigureAwait(false);
        }
    }

    private async Task WriteBatchAsync(ExchangeDbContext db, List<object> batch, BatchRows rows, long started, CancellationToken cancellationToken)
    {
        // Made before the transaction, which need not stay open while rows are serialized.
        for (var i = 0; i < batch.Count; i++)
            if (batch[i] is AnsweredOrder answered) batch[i] = answered.Row();
        await using var tx = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

        // Read inside the transaction: the database, not this process, says what is recorded.
        var cursor = await db.RecorderCursors.SingleAsync(c => c.Id == RecorderCursor.DefaultId, cancellationToken)
            .ConfigureAwait(false);
        var start = cursor.LastEventSequence;
        await LoadTradesAsync(db, batch, start, rows, cancellationToken).ConfigureAwait(false);
        await LoadOrdersAsync(db, batch, rows, cancellationToken).ConfigureAwait(false);
        var lastOrder = cursor.LastOrderSequence;

        var last = start;
        var previous = _previousEvent;
        int written = 0, skipped = 0, ordersWritten = 0;
        List<FlushMarker>? markers = null;
        foreach (var item in batch)
        {
            switch (item)
            {
                case OrderRecord order:
                    if (ApplyOrder(rows, order)) ordersWritten++;
                    // In sequence order within a run (queries have 0); an earlier run's leftovers may be newer than what recovery still re-creates.
                    if (!order.FromEarlierRun) lastOrder = Math.Max(lastOrder, order.Sequence);
                    break;
                case FlushMarker marker:
                    (markers ??= []).Add(marker);
                    break;
                default:
                    if (!TryHeader(item, out var header)) break;
                    if (header.EventSequence <= last)
                    {
                        skipped++;
                    }
                    else
                    {
                        if (header.EventSequence != last + 1 && last != 0)
                            _logger.LogWarning("Event sequence jumps from {Last} to {Next}: events in between were never delivered",
                                last, header.EventSequence);
                        ApplyEvent(rows, item, previous);
                        last = header.EventSequence;
                        written++;
                    }
                    previous = item;
                    break;
            }
        }

        rows.Trades.AddRange(rows.NewTrades.Values);
        await _bulk.InsertAsync(db, rows.Trades, cancellationToken).ConfigureAwait(false);
        rows.Trades.Clear();
        rows.Trades.AddRange(rows.ClosedStored.Values);
        await _bulk.UpdateAsync(db, rows.Trades, CloseColumns, cancellationToken).ConfigureAwait(false);
        await _bulk.InsertAsync(db, rows.Ledger, cancellationToken).ConfigureAwait(false);
        await _bulk.InsertAsync(db, rows.NewOrders, cancellationToken).ConfigureAwait(false);
        cursor.LastEventSequence = last;
        cursor.LastOrderSequence = lastOrder;
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false); // the cursor and changed order outcomes
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        if (_sqliteSync is not null)
        {
            // Durable before Publish: snapshots, and with them the journal's truncation, trust the recorded sequence.
            var behind = _queue.Count >= _options.MaxBatch;
            _sqliteSync.FlushCommit(paced: !behind);
            if (_sqliteSync.CheckpointDue)
                await _sqliteSync.CheckpointAsync(db.Database.GetDbConnection(), paced: !behind, cancellationToken).ConfigureAwait(false);
        }

        _batchSeconds.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
        _previousEvent = previous;
        Interlocked.Add(ref _eventsWritten, written);
        Interlocked.Add(ref _eventsSkipped, skipped);
        Interlocked.Add(ref _ordersWritten, ordersWritten);
        if (skipped > 0) _logger.LogDebug("Skipped {Skipped} events already recorded", skipped);
        Volatile.Write(ref _recordedOrders, lastOrder);
        Publish(last, markers);
    }

    /// <summary>Which of the batch's trades are already in the database.</summary>
    private static async Task LoadTradesAsync(ExchangeDbContext db, List<object> batch, long recorded, BatchRows rows,
        CancellationToken cancellationToken)
    {
        foreach (var item in batch)
        {
            switch (item)
            {
                case TradeOpened o when o.Header.EventSequence > recorded: rows.TradeIds.Add(o.Trade.Id.ToString()); break;
                case TradeClosed c when c.Header.EventSequence > recorded: rows.TradeIds.Add(c.Trade.Id.ToString()); break;
            }
        }
        // EF.Parameter: one JSON array parameter, not one parameter per id (EF 10's default). SQLite
        // finds a named parameter by comparing it with every one before it, so a batch's few hundred
        // ids as separate parameters cost ~10^5 string comparisons per query: under load that was
        // a tenth of the server's CPU.
        await InChunksAsync(rows.TradeIds, rows.Strings, async ids =>
        {
            await foreach (var t in db.Trades.AsNoTracking().Where(t => EF.Parameter(ids).Contains(t.TradeId))
                               .Select(t => new { t.TradeId, t.Status }).AsAsyncEnumerable().WithCancellation(cancellationToken).ConfigureAwait(false))
                rows.StoredStatus[t.TradeId] = t.Status;
        }).ConfigureAwait(false);
    }

    /// <summary>The batch's orders already in the database (tracked, for outcome updates) and the idempotency keys taken.</summary>
    private static async Task LoadOrdersAsync(ExchangeDbContext db, List<object> batch, BatchRows rows, CancellationToken cancellationToken)
    {
        var orders = batch.OfType<OrderRecord>();
        await InChunksAsync(orders.Select(o => o.OrderId), rows.Guids, async ids =>
        {
            foreach (var order in await db.Orders.Where(o => EF.Parameter(ids).Contains(o.OrderId)).ToListAsync(cancellationToken).ConfigureAwait(false))
            {
                rows.OrdersById[order.OrderId] = order;
                if (order.IdempotencyKey is { } key) rows.OrdersByKey[(order.UserId, key)] = order.OrderId;
            }
        }).ConfigureAwait(false);
        await InChunksAsync(orders.Where(o => o.IdempotencyKey is not null), rows.KeyedOrders, async chunk =>
        {
            foreach (var order in chunk)
            {
                rows.Guids.Add(order.UserId);
                rows.Strings.Add(order.IdempotencyKey!);
            }
            var taken = await KeysTaken(db, rows.Guids, rows.Strings).ToListAsync(cancellationToken).ConfigureAwait(false);
            foreach (var t in taken) rows.OrdersByKey[(t.UserId, t.IdempotencyKey)] = t.OrderId;
            rows.Guids.Clear();
            rows.Strings.Clear();
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// The orders that hold any of <paramref name="keys"/> for any of <paramref name="users"/>
    /// (more pairs than asked, all of them true). The traders go in too so that the (UserId,
    /// IdempotencyKey) index answers it: by the key alone it read every order ever recorded,
    /// inside the recorder's write transaction, in every batch with a keyed order.
    /// </summary>
    internal static IQueryable<TakenKey> KeysTaken(ExchangeDbContext db, List<Guid> users, List<string> keys) =>
        db.Orders.AsNoTracking()
            .Where(o => o.IdempotencyKey != null && EF.Parameter(users).Contains(o.UserId) && EF.Parameter(keys).Contains(o.IdempotencyKey))
            .Select(o => new TakenKey(o.UserId, o.IdempotencyKey!, o.OrderId));

    internal sealed record TakenKey(Guid UserId, string IdempotencyKey, Guid OrderId);

    /// <summary>Runs <paramref name="load"/> over <paramref name="items"/>, at most <see cref="LookupChunk"/> at a time, in the reused <paramref name="chunk"/>.</summary>
    private static async Task InChunksAsync<T>(IEnumerable<T> items, List<T> chunk, Func<List<T>, Task> load)
    {
        chunk.Clear();
        foreach (var item in items)
        {
            chunk.Add(item);
            if (chunk.Count < LookupChunk) continue;
            await load(chunk).ConfigureAwait(false);
            chunk.Clear();
        }
        if (chunk.Count > 0) await load(chunk).ConfigureAwait(false);
        chunk.Clear();
    }

    /// <summary>Inserts or updates one order; false when it was refused (its idempotency key belongs to another order).</summary>
    private bool ApplyOrder(BatchRows rows, OrderRecord record)
    {
        if (rows.OrdersById.TryGetValue(record.OrderId, out var existing))
        {
            // Tracked or about to be inserted: either way the row gets it. A row re-created by
            // recovery only fills a gap; the stored one has the measured latency.
            if (record.LatencyMicros is not null) record.UpdateOutcome(existing);
            return true;
        }
        if (record.IdempotencyKey is { } key)
        {
            if (rows.OrdersByKey.TryGetValue((record.UserId, key), out var owner))
            {
                // The API answers a retry from the first order; a second row would break the unique index.
                _logger.LogWarning("Order {OrderId} not recorded: idempotency key already used by order {Owner}", record.OrderId, owner);
                return false;
            }
            rows.OrdersByKey[(record.UserId, key)] = record.OrderId;
        }
        var order = record.ToEntity();
        rows.NewOrders.Add(order);
        rows.OrdersById[order.OrderId] = order;
        return true;
    }

    private void ApplyEvent(BatchRows rows, object e, object? previous)
    {
        switch (e)
        {
            case TradeOpened opened:
                {
                    var id = opened.Trade.Id.ToString();
                    // Already there when an earlier run wrote it under a cursor that was since reset.
                    if (rows.StoredStatus.ContainsKey(id) || rows.NewTrades.ContainsKey(id)) return;
                    rows.NewTrades[id] = NewTrade(opened.Trade, opened.Header.OrderId);
                    break;
                }
            case TradeClosed closed:
                {
                    var id = closed.Trade.Id.ToString();
                    Trade? trade;
                    if (rows.StoredStatus.TryGetValue(id, out var status))
                    {
                        if (status == TradeStatus.Closed || rows.ClosedStored.ContainsKey(id)) return;
                        trade = NewTrade(closed.Trade, Guid.Empty); // only its close columns are written
                        rows.ClosedStored[id] = trade;
                    }
                    else if (!rows.NewTrades.TryGetValue(id, out trade))
                    {
                        // Opened before the database's history began (recovery from a snapshot).
                        trade = NewTrade(closed.Trade, Guid.Empty);
                        rows.NewTrades[id] = trade;
                    }
                    else if (trade.Status == TradeStatus.Closed)
                    {
                        return;
                    }
                    trade.Status = TradeStatus.Closed;
                    trade.ClosePrice = closed.ClosePrice.ToDecimal();
                    trade.CloseReason = closed.Reason.Name();
                    trade.Pnl = closed.Pnl.ToDecimal();
                    trade.Payout = closed.Payout.ToDecimal();
                    trade.InsuranceFundChange = closed.InsuranceFundChange.ToDecimal();
                    trade.ClosedAtMs = closed.Header.TimestampMs;
                    trade.CloseSequence = closed.Header.InputSequence;
                    trade.CloseOrderId = NullIfEmpty(closed.Header.OrderId);
                    break;
                }
            case BalanceChanged balance:
                {
                    var (reason, tradeId) = Cause(in balance, previous);
                    rows.Ledger.Add(new LedgerEntry
                    {
                        EventSequence = balance.Header.EventSequence,
                        UserId = balance.User.Value,
                        Free = balance.Free.ToDecimal(),
                        Locked = balance.Locked.ToDecimal(),
                        Reason = reason,
                        TradeId = tradeId,
                        OrderId = NullIfEmpty(balance.Header.OrderId),
                        InputSequence = balance.Header.InputSequence,
                        AtMs = balance.Header.TimestampMs,
                    });
                    break;
                }
            case AccountCreated:
                // The BalanceChanged right after it carries the credit into the ledger.
                break;
        }
    }

    /// <summary>The engine reports a balance change right after the event that caused it, within the same input.</summary>
    private static (string Reason, string? TradeId) Cause(in BalanceChanged balance, object? previous)
    {
        var input = balance.Header.InputSequence;
        return previous switch
        {
            AccountCreated a when a.Header.InputSequence == input && a.User == balance.User => (LedgerReason.AccountCreated, null),
            TradeOpened o when o.Header.InputSequence == input && o.Trade.Owner == balance.User =>
                (LedgerReason.TradeOpened, o.Trade.Id.ToString()),
            TradeClosed c when c.Header.InputSequence == input && c.Trade.Owner == balance.User =>
                (LedgerReason.TradeClosed, c.Trade.Id.ToString()),
            _ => (LedgerReason.BalanceChanged, null),
        };
    }

    private Trade NewTrade(TradeView view, Guid openOrderId) => new()
    {
        TradeId = view.Id.ToString(),
        UserId = view.Owner.Value,
        Asset = view.Asset.Index < _assets.Count ? _assets[view.Asset.Index].Symbol : $"#{view.Asset.Index}",
        Direction = view.Direction.Name(),
        Margin = view.Margin.ToDecimal(),
        Leverage = view.Leverage,
        Quantity = view.Quantity.ToDecimal(),
        OpenPrice = view.OpenPrice.ToDecimal(),
        LiquidationPrice = view.LiquidationPrice.ToDecimal(),
        StopLossPrice = view.StopLoss.IsSet ? view.StopLoss.ToDecimal() : null,
        TakeProfitPrice = view.TakeProfit.IsSet ? view.TakeProfit.ToDecimal() : null,
        OpenedAtMs = view.OpenedAtMs,
        OpenSequence = view.OpenSequence,
        OpenOrderId = openOrderId,
        Status = TradeStatus.Open,
    };

    private static Guid? NullIfEmpty(Guid id) => id == Guid.Empty ? null : id;

    private static bool TryHeader(object e, out EventHeader header)
    {
        header = e switch
        {
            TradeOpened o => o.Header,
            TradeClosed c => c.Header,
            BalanceChanged b => b.Header,
            AccountCreated a => a.Header,
            _ => default,
        };
        return header.EventSequence > 0;
    }

    /// <summary>
    /// Completes the waiters and flushes that <paramref name="recorded"/> satisfies. Completing
    /// one queues its continuation to the thread pool, which may start a new worker on the
    /// calling thread, and a worker started by the background writer would inherit its low
    /// priority for good; so that writer leaves the completing to the catch-up thread.
    /// </summary>
    private void Publish(long recorded, List<FlushMarker>? markers)
    {
        Volatile.Write(ref _recorded, recorded);
        if (!t_lowered)
        {
            ReleaseWaiters();
            if (markers is not null)
            {
                foreach (var marker in markers) marker.Done.TrySetResult();
            }
            return;
        }
        bool waiting;
        lock (_waitersLock) waiting = _waiters.Count > 0;
        if (markers is not null)
        {
            foreach (var marker in markers) _flushesDone.Enqueue(marker);
        }
        if (waiting || markers is not null) _catchUpSignal.Release();
    }

    private void ReleaseWaiters()
    {
        var recorded = RecordedEventSequence;
        lock (_waitersLock)
        {
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Sequence > recorded) continue;
                _waiters[i].Done.TrySetResult();
                _waiters.RemoveAt(i);
            }
        }
    }
}
