using System.Collections.Concurrent;
using Exchange.Journal;
using Microsoft.Extensions.Logging;

namespace Exchange.Data;

/// <summary>
/// The threads that write the batches. Not the thread pool: with SQLite every "async" database
/// call completes synchronously, so a batch holds its thread for the whole transaction (~20 ms
/// at 2,000 commands/s), and on a pool worker, one of the few (about one per core) that also
/// resume the request handlers, the replies released meanwhile queued behind it. With
/// PostgreSQL the thread just waits while Npgsql does the I/O.
/// <para>
/// With SQLite (embedded: the database shares the machine with trading) the writer runs in the
/// background (<see cref="ThreadScheduling.RunInBackground"/>): nothing waits on a batch, while
/// a request thread that shared a core with one waited for it. A background thread gets too
/// little CPU to keep up on a machine that stays busy, though, and a full queue would stall
/// trading; so once more than a full batch waits after a write, the writing moves to a second
/// thread at normal priority (<c>recorder-behind</c>, counted in <see cref="CatchUps"/>), and
/// back once a batch takes at most half of one. The two threads take turns; both are started
/// here, as a thread inherits the priority of the one that starts it and an unprivileged
/// thread cannot raise its own again. The second one also completes what the background one
/// must not (see <see cref="Publish"/>).
/// </para>
/// </summary>
public sealed partial class EventRecorder
{
    private readonly SemaphoreSlim _catchUpSignal = new(0); // the catch-up thread's turn, or flushes to complete
    private readonly SemaphoreSlim _backgroundTurn = new(0);
    private readonly ConcurrentQueue<FlushMarker> _flushesDone = new();
    private int _catchUpAsked;
    private volatile bool _writingEnded;
    private long _catchUps;
    // Set by the writer whose turn it is; the turns hand them over through the semaphores.
    private bool _cursorLoaded;
    private bool _sqlite;
    private PacedSqliteSync? _sqliteSync; // with SQLite in WAL mode on Linux: commits and checkpoints synced by the recorder itself
    private bool _lowered; // the background writer runs at low priority now
    [ThreadStatic] private static bool t_lowered; // this thread is that writer

    /// <summary>Times the writer fell more than a full batch behind and went on at normal priority.</summary>
    public long CatchUps => Interlocked.Read(ref _catchUps);

    /// <summary>The recorder's own syncs; null where SQLite does them.</summary>
    internal PacedSqliteSync? SqliteSync => _sqliteSync;

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var running = 2;
        new Thread(() => Guard(() => WriteInBackground(stoppingToken))) { IsBackground = true, Name = "event-recorder" }.Start();
        new Thread(() => Guard(() => CatchUpWhenAsked(stoppingToken))) { IsBackground = true, Name = "recorder-behind" }.Start();
        return stopped.Task;

        void Guard(Action run)
        {
            try
            {
                run();
                if (Interlocked.Decrement(ref running) == 0) stopped.TrySetResult();
            }
            catch (Exception e)
            {
                EndWriting();
                stopped.TrySetException(e);
            }
        }
    }

    private void WriteInBackground(CancellationToken stoppingToken)
    {
        while (WriteLoop(inBackground: true, stoppingToken))
        {
            Interlocked.Increment(ref _catchUps);
            _logger.LogInformation("Event recorder is {Waiting} items behind; catching up at normal priority", _queue.Count);
            Volatile.Write(ref _catchUpAsked, 1);
            _catchUpSignal.Release();
            _backgroundTurn.Wait(CancellationToken.None);
            if (_writingEnded) return;
        }
        EndWriting();
    }

    private void CatchUpWhenAsked(CancellationToken stoppingToken)
    {
        while (true)
        {
            _catchUpSignal.Wait(CancellationToken.None);
            CompleteWaitersAndFlushes();
            if (Interlocked.Exchange(ref _catchUpAsked, 0) == 1)
            {
                if (!WriteLoop(inBackground: false, stoppingToken))
                {
                    EndWriting();
                    return;
                }
                _backgroundTurn.Release();
            }
            if (_writingEnded)
            {
                CompleteWaitersAndFlushes();
                return;
            }
        }
    }

    /// <summary>Wakes whichever thread waits for its turn, so that both return.</summary>
    private void EndWriting()
    {
        _writingEnded = true;
        ReleaseWaiters();
        CancelWaiters();
        _catchUpSignal.Release();
        _backgroundTurn.Release();
    }

    /// <summary>No writer is left: a waiter for an event not recorded by now would wait for nothing.</summary>
    private void CancelWaiters()
    {
        lock (_waitersLock)
        {
            foreach (var (_, done) in _waiters) done.TrySetCanceled();
            _waiters.Clear();
        }
    }

    private void CompleteWaitersAndFlushes()
    {
        ReleaseWaiters();
        while (_flushesDone.TryDequeue(out var marker)) marker.Done.TrySetResult();
    }

    /// <summary>Writes batches until shutdown (false) or until the writing should go on at the other priority (true).</summary>
    private bool WriteLoop(bool inBackground, CancellationToken stoppingToken)
    {
        var handOver = false;
        var batch = new List<object>(_options.MaxBatch);
        try
        {
            if (!_cursorLoaded)
            {
                _retry.RunAsync("Loading the recorder's cursor", LoadCursorAsync, stoppingToken).GetAwaiter().GetResult();
                _cursorLoaded = true;
            }
            if (inBackground && _sqlite && !_lowered) _lowered = t_lowered = ThreadScheduling.RunInBackground();
            while (_queue.WaitToRead(stoppingToken))
            {
                Linger(stoppingToken);
                while (batch.Count < _options.MaxBatch && _queue.TryRead(out var item)) batch.Add(item);
                // Empty when all that was read were an earlier run's events in the overflow file.
                if (batch.Count > 0)
                    _retry.RunAsync("Writing to the database", ct => WriteBatchAsync(batch, ct), stoppingToken).GetAwaiter().GetResult();
                _queue.Committed();
                var written = batch.Count;
                batch.Clear();
                // Only a lowered writer hands over: without one (PostgreSQL, other systems) nothing is gained.
                handOver = _lowered && !_stopping && (inBackground ? _queue.Count > _options.MaxBatch : written <= _options.MaxBatch / 2);
                if (handOver) return true;
            }
            return false;
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutdown timed out with items queued: recovery re-creates their events, the orders wait in the overflow file.
            return false;
        }
        finally
        {
            if (!handOver) _queue.Park(batch);
        }
    }

    /// <summary>Lets a batch gather for up to <see cref="EventRecorderOptions.Linger"/>; see there.</summary>
    private void Linger(CancellationToken stoppingToken)
    {
        var hurry = Volatile.Read(ref _hurry);
        if (_options.Linger > TimeSpan.Zero && !_stopping && !hurry.Task.IsCompleted && _queue.Count < _options.MaxBatch)
        {
            // Hurry() wakes this early; a full batch waits at most the linger (no per-item wake-ups).
            // A cancelled wait (shutdown) returns too: the loop then writes what it has.
            try
            {
                hurry.Task.Wait(_options.Linger, stoppingToken);
            }
            catch (OperationCanceledException)
            {
            }
        }
        // A Hurry() from now on is for items this batch may not take: it ends the next linger.
        Interlocked.CompareExchange(ref _hurry, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), hurry);
    }
}
