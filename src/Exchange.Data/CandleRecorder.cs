using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Exchange.Data;

public sealed record CandleRecorderOptions
{
    /// <summary>The assets whose candles are loaded at start (the engine's symbols).</summary>
    public required IReadOnlyList<string> Assets { get; init; }

    /// <summary>How often changed candles (the open ones included) are written.</summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Ticks that may wait to be applied; more are dropped (counted), never waited for.</summary>
    public int QueueCapacity { get; init; } = 100_000;

    /// <summary>History to generate when the database has no candle at all; null for none.</summary>
    public CandleBackfillOptions? Backfill { get; init; }

    /// <summary>Longest pause between retries while the database fails.</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// Keeps the candles: ticks go through a channel (<see cref="OnTick"/> never blocks) into a
/// <see cref="CandleBook"/>; candles changed since the last write are upserted every
/// <see cref="CandleRecorderOptions.FlushInterval"/> in one transaction, closed and open alike,
/// and once more on stop. A crash loses at most that interval's changes; the next run continues
/// from the stored candles. <see cref="QueryAsync"/> answers from the database and the candles
/// not written yet.
/// <para>
/// At start, the last stored candle of each asset and interval seeds the book, so a restart
/// continues the open candles. With no candle at all, a backfill history is generated in memory,
/// seeds the book the same way and is inserted in the background (one transaction, so a crash
/// leaves none and the next start tries again); the first write waits for it.
/// </para>
/// </summary>
public sealed class CandleRecorder : BackgroundService
{
    private readonly IDbContextFactory<ExchangeDbContext> _factory;
    private readonly CandleRecorderOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Channel<(string Asset, decimal Price, long TimestampMs)> _ticks;
    private readonly CandleBook _book = new();
    private readonly Lock _lock = new();
    private readonly BulkWriter _bulk = new();
    private readonly SemaphoreSlim _flushing = new(1, 1);
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _backfilled = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Changed since the last write (by key; the book's own objects, copied under the lock when written),
    // and the copies being written now. Both are read by queries, so a candle never disappears
    // between leaving the book's care and reaching the database.
    private Dictionary<(string, int, long), Candle> _dirty = [];
    private Dictionary<(string, int, long), Candle> _writing = [];
    private List<Candle>? _backfill;

    private long _droppedTicks;
    private long _ticksApplied;
    private long _candlesWritten;
    private readonly DatabaseRetry _retry;

    public CandleRecorder(IDbContextFactory<ExchangeDbContext> factory, CandleRecorderOptions options, TimeProvider time,
        ILogger<CandleRecorder> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _factory = factory;
        _options = options;
        _time = time;
        _logger = logger;
        _retry = new DatabaseRetry(options.MaxRetryDelay, time, logger);
        // A full queue drops the new tick and still answers the write with true: only the
        // callback hears of it.
        _ticks = Channel.CreateBounded<(string, decimal, long)>(new BoundedChannelOptions(options.QueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.DropWrite,
        }, _ => CountDropped());
    }

    public long DroppedTicks => Interlocked.Read(ref _droppedTicks);
    public long TicksApplied => Interlocked.Read(ref _ticksApplied);
    public long CandlesWritten => Interlocked.Read(ref _candlesWritten);
    public int ConsecutiveFailures => _retry.ConsecutiveFailures;

    /// <summary>Completes once the stored candles (or the generated history) are loaded and ticks are being applied.</summary>
    public Task Ready => _ready.Task;

    /// <summary>Completes once a backfill is committed, or at start when none was needed.</summary>
    public Task Backfilled => _backfilled.Task;

    /// <summary>A bid price at a time; called on the feed's thread, so it only enqueues.</summary>
    public void OnTick(string asset, decimal bid, long timestampMs)
    {
        if (!_ticks.Writer.TryWrite((asset, bid, timestampMs))) CountDropped(); // closed: stopping
    }

    private void CountDropped()
    {
        if (Interlocked.Increment(ref _droppedTicks) % 10_000 == 1)
            _logger.LogWarning("Candle queue full or closed: {Dropped} ticks dropped so far", DroppedTicks);
    }

    /// <summary>The candle book's open candle (a copy), or null.</summary>
    public Candle? OpenCandle(string asset, CandleInterval interval)
    {
        ArgumentNullException.ThrowIfNull(interval);
        lock (_lock) return _book.Open(asset, interval.Seconds)?.Clone();
    }

    /// <summary>
    /// The last <paramref name="limit"/> candles of an asset and interval opening in
    /// [<paramref name="fromMs"/>, <paramref name="toMs"/>], oldest first, the open one included.
    /// </summary>
    public async Task<List<Candle>> QueryAsync(string asset, CandleInterval interval, long fromMs, long toMs, int limit,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(interval);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var seconds = interval.Seconds;
        var merged = new SortedDictionary<long, Candle>();
        // Memory first, then the database: a candle written in between is then in the database
        // (perhaps older than the copy taken here, which wins below).
        var memory = new List<Candle>();
        lock (_lock)
        {
            foreach (var c in _writing.Values.Concat(_dirty.Values))
            {
                if (c.Asset == asset && c.IntervalSeconds == seconds && c.OpenTimeMs >= fromMs && c.OpenTimeMs <= toMs)
                    memory.Add(c.Clone());
            }
            if (_book.Open(asset, seconds) is { } open && open.OpenTimeMs >= fromMs && open.OpenTimeMs <= toMs)
                memory.Add(open.Clone());
        }

        await using (var db = await _factory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false))
        {
            var stored = await db.Candles.AsNoTracking()
                .Where(c => c.Asset == asset && c.IntervalSeconds == seconds && c.OpenTimeMs >= fromMs && c.OpenTimeMs <= toMs)
                .OrderByDescending(c => c.OpenTimeMs)
                .Take(limit)
                .ToListAsync(cancellationToken).ConfigureAwait(false);
            foreach (var c in stored) merged[c.OpenTimeMs] = c;
        }
        // Later copies of the same candle overwrite earlier ones: _writing, _dirty, then the book.
        foreach (var c in memory) merged[c.OpenTimeMs] = c;
        return [.. merged.Values.Skip(Math.Max(0, merged.Count - limit))];
    }

    public override void Dispose()
    {
        _flushing.Dispose();
        base.Dispose();
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // Apply what is queued and write it, unless the host's shutdown timeout runs out first.
        _ticks.Writer.TryComplete();
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await _retry.RunAsync("Loading candles", LoadAsync, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            _ready.TrySetCanceled(stoppingToken);
            _backfilled.TrySetCanceled(stoppingToken);
            return;
        }
        var applying = Task.Run(ApplyTicksAsync, CancellationToken.None);
        _ready.TrySetResult();
        try
        {
            if (_backfill is { } history)
            {
                await _retry.RunAsync("Inserting the candle history", ct => InsertBackfillAsync(history, ct), stoppingToken).ConfigureAwait(false);
                _backfill = null;
            }
            _backfilled.TrySetResult();
            using var timer = new PeriodicTimer(_options.FlushInterval, _time);
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await FlushAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                {
                    // The candles stay dirty: the next flush writes them.
                    var failures = _retry.Failed();
                    _logger.LogError(e, "Writing candles failed ({Failures} in a row); retrying at the next flush", failures);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: fall through to the last write.
        }
        _backfilled.TrySetCanceled(stoppingToken);
        await applying.ConfigureAwait(false);
        if (_backfill is null)
        {
            try
            {
                await FlushAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                _logger.LogError(e, "Writing the last candles failed; the next run continues from the stored ones");
            }
        }
    }

    /// <summary>Writes every candle changed since the last write, in one transaction.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        await _flushing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            List<Candle> rows;
            lock (_lock)
            {
                if (_dirty.Count == 0) return;
                // Copies: the open candles keep changing while they are written.
                _writing = _dirty.ToDictionary(e => e.Key, e => e.Value.Clone());
                _dirty = [];
                rows = [.. _writing.Values];
            }
            try
            {
                await using var db = await _factory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
                await using var tx = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                await _bulk.UpsertAsync(db, rows, cancellationToken).ConfigureAwait(false);
                await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
                Interlocked.Add(ref _candlesWritten, rows.Count);
                _retry.Succeeded();
                lock (_lock) _writing = [];
            }
            catch
            {
                lock (_lock)
                {
                    // Back to dirty, unless a tick changed the candle again meanwhile (then that one is newer).
                    foreach (var (key, candle) in _writing) _dirty.TryAdd(key, candle);
                    _writing = [];
                }
                throw;
            }
        }
        finally
        {
            _flushing.Release();
        }
    }

    private async Task ApplyTicksAsync()
    {
        var reader = _ticks.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            lock (_lock)
            {
                // A batch at a time under the lock; a query waits at most that long.
                for (var n = 0; n < 1_000 && reader.TryRead(out var tick); n++)
                {
                    // A closed candle needs no write of its own: it was marked at its last change.
                    if (!_book.Apply(tick.Asset, tick.Price, tick.TimestampMs)) continue;
                    Interlocked.Increment(ref _ticksApplied);
                    foreach (var interval in _book.Intervals)
                    {
                        if (_book.Open(tick.Asset, interval.Seconds) is { } open) MarkDirty(open);
                    }
                }
            }
        }
    }

    private void MarkDirty(Candle candle) => _dirty[(candle.Asset, candle.IntervalSeconds, candle.OpenTimeMs)] = candle;

    /// <summary>Seeds the book from the last stored candles, or from a generated history when there are none.</summary>
    private async Task LoadAsync(CancellationToken cancellationToken)
    {
        await using var db = await _factory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var seeds = new List<Candle>();
        if (await db.Candles.AnyAsync(cancellationToken).ConfigureAwait(false))
        {
            foreach (var asset in _options.Assets)
            {
                foreach (var interval in _book.Intervals)
                {
                    var seconds = interval.Seconds;
                    var last = await db.Candles.AsNoTracking()
                        .Where(c => c.Asset == asset && c.IntervalSeconds == seconds)
                        .OrderByDescending(c => c.OpenTimeMs)
                        .FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
                    if (last is not null) seeds.Add(last);
                }
            }
            _logger.LogInformation("Candles continue from {Count} stored open candles", seeds.Count);
        }
        else if (_options.Backfill is { } backfill)
        {
            var started = _time.GetTimestamp();
            var history = CandleBackfill.Generate(backfill, _time.GetUtcNow().ToUnixTimeMilliseconds());
            _logger.LogInformation("No candles yet: generated {Count} candles of history in {Ms} ms", history.Count,
                (long)_time.GetElapsedTime(started).TotalMilliseconds);
            // The last candle of each asset and interval is the one the live ticks continue.
            seeds.AddRange(history.GroupBy(c => (c.Asset, c.IntervalSeconds)).Select(g => g.MaxBy(c => c.OpenTimeMs)!));
            _backfill = history;
        }
        lock (_lock)
        {
            foreach (var seed in seeds) _book.Seed(seed);
        }
    }

    private async Task InsertBackfillAsync(List<Candle> history, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        await using var db = await _factory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        // Another node (or a run that crashed after committing) may have written candles meanwhile: keep theirs.
        if (await db.Candles.AnyAsync(cancellationToken).ConfigureAwait(false))
        {
            _logger.LogInformation("Candles appeared while generating the history; not inserting it");
            return;
        }
        await _bulk.InsertAsync(db, history, cancellationToken).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        Interlocked.Add(ref _candlesWritten, history.Count);
        _logger.LogInformation("Inserted {Count} candles of history in {Ms} ms", history.Count,
            (long)_time.GetElapsedTime(started).TotalMilliseconds);
    }
}
