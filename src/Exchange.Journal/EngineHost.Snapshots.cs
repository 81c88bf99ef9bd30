using System.Diagnostics;
using Exchange.Engine;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Exchange.Journal;

/// <summary>A snapshot taken: how long the engine thread paused to copy the state, and how long writing took.</summary>
public sealed record SnapshotReport(SnapshotHeader Header, TimeSpan EngineStall, TimeSpan WriteDuration, long SizeBytes, int OpenTrades);

public sealed partial class EngineHost
{
    /// <summary>
    /// Recovers and starts: loads the newest snapshot that verifies (skipping corrupt ones),
    /// opens the journal (cutting a torn last record), replays what the snapshot lacks, then
    /// starts the engine thread.
    /// </summary>
    public static EngineHost Start(EngineHostOptions options, TimeProvider? time = null, ILogger? logger = null,
        IEngineEventListener? listener = null)
    {
        var recovered = RecoverAndCopy(options, logger, listener);
        var host = new EngineHost(options, time ?? TimeProvider.System, logger ?? NullLogger.Instance, listener,
            recovered.Engine, recovered.Journal, recovered.Snapshots, recovered.Report);
        // The copy hashed after recovery becomes the first snapshot's buffer once hashed.
        recovered.Report.StateHash.ContinueWith(_ => host.OfferSlotBuffer(recovered.Copy.TradeSlots),
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return host;
    }

    /// <summary>
    /// Recovery alone, for tools: the recovered engine and the open journal (which the caller
    /// disposes). Nothing is written except cutting a torn last journal record.
    /// </summary>
    public static (TradingEngine Engine, FileJournal Journal, SnapshotStore Snapshots, RecoveryReport Report) Recover(
        EngineHostOptions options, ILogger? logger = null, IEngineEventListener? listener = null)
    {
        var recovered = RecoverAndCopy(options, logger, listener);
        return (recovered.Engine, recovered.Journal, recovered.Snapshots, recovered.Report);
    }

    /// <summary>
    /// A listener holds only commands the journal made durable first. One that holds commands
    /// past the end of this folder's snapshots and journal was fed from another data folder (or a
    /// later copy of this one): refused before the replay hands it anything, or a snapshot claims
    /// it holds what it does not.
    /// </summary>
    private static void RefuseAListenerFromAnotherFolder(IEngineEventListener? listener, long lastInput, string dataDirectory)
    {
        if (listener is null || listener.RecordedCommandSequence <= lastInput) return;
        throw new DataFolderMismatchException(
            $"The database holds orders up to input {listener.RecordedCommandSequence}, but the journal and snapshots in {Path.GetFullPath(dataDirectory)} end at input {lastInput}");
    }

    private readonly record struct Recovered(TradingEngine Engine, FileJournal Journal, SnapshotStore Snapshots, RecoveryReport Report, StateImage Copy);

    private static Recovered RecoverAndCopy(
        EngineHostOptions options, ILogger? logger, IEngineEventListener? listener)
    {
        logger ??= NullLogger.Instance;
        var started = Stopwatch.GetTimestamp();

        // Opening the journal checks every record: do it on another core while the snapshot loads.
        var opening = Task.Run(() => FileJournal.Open(Path.Combine(options.DataDirectory, "journal"), options.Journal));
        TradingEngine engine;
        SnapshotStore snapshots;
        (StateImage Image, SnapshotHeader Header, string Path)? loaded;
        var skipped = 0;
        long snapshotLoaded, restored;
        try
        {
            snapshots = new SnapshotStore(Path.Combine(options.DataDirectory, "snapshots"), options.MaxSnapshots);
            loaded = snapshots.LoadNewestValid(e =>
            {
                skipped++;
                logger.LogError("Skipping snapshot {Path}: {Reason}", e.Path, e.Reason);
            });
            snapshotLoaded = Stopwatch.GetTimestamp();
            engine = loaded is { } l ? TradingEngine.Restore(options.Engine, l.Image) : new TradingEngine(options.Engine);
            restored = Stopwatch.GetTimestamp();
        }
        catch
        {
            // Release the journal (and its directory lock) before reporting the snapshot's failure.
            try
            {
                opening.GetAwaiter().GetResult().Dispose();
            }
            catch (Exception)
            {
                // The snapshot's failure is the one to report.
            }
            throw;
        }

        var journal = opening.GetAwaiter().GetResult();
        try
        {
            snapshots.RemoveUnfinished(); // the journal's lock is held: no other engine writes here
            var journalChecked = Stopwatch.GetTimestamp();
            if (journal.Recovery.WasTruncated)
                logger.LogWarning("Cut a torn record off the journal: {Info}", journal.Recovery);
            RefuseAListenerFromAnotherFolder(listener, Math.Max(engine.LastSequence, journal.LastSequence), options.DataDirectory);
            // The state hash after recovery is computed from a copy of the state. Copying a million
            // trades into fresh memory means faulting in over 100 MB first, which costs more than
            // the copy: the other core does that while the replay runs.
            var copyBuffer = PrefaultedSlots(engine.OpenTradeCount);
            var replayed = JournalReplay.Run(engine, journal, listener);
            var replayDone = Stopwatch.GetTimestamp();
            var duration = Stopwatch.GetElapsedTime(started, replayDone);
            var phases = new RecoveryPhases(Stopwatch.GetElapsedTime(started, snapshotLoaded),
                Stopwatch.GetElapsedTime(snapshotLoaded, restored), Stopwatch.GetElapsedTime(restored, journalChecked),
                Stopwatch.GetElapsedTime(journalChecked, replayDone));
            var image = engine.CaptureImage(copyBuffer.GetAwaiter().GetResult());
            var hash = Task.Run(() => StateCodec.Hash(image));
            var report = new RecoveryReport(
                loaded?.Path, loaded?.Header.LastSequence ?? 0, skipped, replayed, engine.LastSequence,
                journal.Recovery.TruncatedBytes, duration, hash, phases);
            logger.LogInformation(
                "Recovered {DataDirectory} in {Ms} ms ({Phases}) from snapshot {Snapshot} (sequence {SnapshotSequence}, {Skipped} skipped) and {Replayed} journal records: sequence {Sequence}, {Trades} open trades",
                Path.GetFullPath(options.DataDirectory), (long)duration.TotalMilliseconds, phases, report.SnapshotPath ?? "(none)", report.SnapshotSequence, skipped,
                replayed, report.LastSequence, engine.OpenTradeCount);
            var sequence = report.LastSequence;
            _ = hash.ContinueWith(
                t => logger.LogInformation("State hash at sequence {Sequence} after recovery: {Hash}", sequence, t.Result),
                CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
            return new Recovered(engine, journal, snapshots, report, image);
        }
        catch
        {
            journal.Dispose();
            throw;
        }
    }

    /// <summary>A zeroed slot array with room for the trades now open and a quarter more, its memory touched on the thread pool.</summary>
    private static Task<TradeView[]> PrefaultedSlots(int openTrades) => Task.Run(() =>
    {
        var slots = new TradeView[openTrades + openTrades / 4 + 1024];
        var perPage = Math.Max(1, Environment.SystemPageSize / System.Runtime.CompilerServices.Unsafe.SizeOf<TradeView>());
        for (var i = 0; i < slots.Length; i += perPage) slots[i] = default;
        return slots;
    });

    /// <summary>Keeps an image's trade array that nobody reads any more, for the next snapshot to copy into.</summary>
    private void OfferSlotBuffer(TradeView[] slots) => Volatile.Write(ref _slotBuffer, slots);

    /// <summary>
    /// Waits until the listener holds everything up to the image: its events, and the answered
    /// commands (which have no event sequence: once the engine thread has handed out every
    /// output up to the image, a flush covers them).
    /// </summary>
    private bool WaitForListener(long eventSequence, long inputSequence)
    {
        if (_listener is null) return true;
        var deadline = Stopwatch.GetTimestamp() + 30 * Stopwatch.Frequency;
        while (_listener.RecordedEventSequence < eventSequence || Volatile.Read(ref _releasedThrough) < inputSequence)
        {
            if (Stopwatch.GetTimestamp() > deadline || _listener.IsFailing || Fault is not null) return false;
            Wake(); // an idle engine thread releases what the flush made durable when it next looks
            Thread.Sleep(5);
        }
        var flushed = _listener.FlushAsync();
        while (Task.WaitAny([flushed], 5) < 0) // WaitAny: a flush cancelled by a stopping listener is a "no", not an exception
        {
            if (Stopwatch.GetTimestamp() > deadline || _listener.IsFailing) return false;
        }
        return flushed.IsCompletedSuccessfully;
    }

    private static readonly TimeSpan SlowSnapshotStall = TimeSpan.FromMilliseconds(10), SlowSnapshotWrite = TimeSpan.FromSeconds(1);

    private void MaybeSnapshot()
    {
        if (_options.SnapshotIntervalMs <= 0 || NowMs() < _nextSnapshotAtMs || !_snapshotWrite.IsCompleted) return;
        _nextSnapshotAtMs = NowMs() + _options.SnapshotIntervalMs;
        if (_engine.LastSequence == (LastSnapshot?.Header.LastSequence ?? Recovery.SnapshotSequence)) return;
        StartSnapshot(periodic: true);
    }

    /// <summary>
    /// Copies the state on the engine thread (the only pause trading sees), then encodes,
    /// checksums and writes it on the thread pool. Only snapshots of durable state are
    /// written: the copy waits for the journal to catch up first.
    /// </summary>
    /// <param name="periodic">
    /// One of the interval's (every 15 s by default, with prices moving): logged at Debug, as the
    /// snapshot metrics already follow them; shutdown's and requested ones, and any slow one, at Information.
    /// </param>
    private Task StartSnapshot(bool periodic = false)
    {
        var stallStarted = Stopwatch.GetTimestamp();
        var image = _engine.CaptureImage(Interlocked.Exchange(ref _slotBuffer, null));
        var stall = Stopwatch.GetElapsedTime(stallStarted);
        var createdAt = NowMs();
        // After the previous write (SnapshotNowAsync may start one while another is on its way), so
        // writes never overlap and waiting for the latest one waits for all.
        _snapshotWrite = _snapshotWrite.ContinueWith(_ =>
        {
            try
            {
                // A snapshot must never hold inputs that a crash could still take back.
                _journal.Flush();
                if (!WaitForListener(image.EventSequence, image.LastSequence))
                {
                    _logger.LogWarning("Snapshot at sequence {Sequence} skipped: the event recorder is behind or failing", image.LastSequence);
                    return;
                }
                SnapshotHeader header;
                TimeSpan written;
                lock (_snapshotGate)
                {
                    if (_snapshotsStopped)
                    {
                        _logger.LogWarning("Snapshot at sequence {Sequence} not written: the engine host stopped", image.LastSequence);
                        return;
                    }
                    var started = Stopwatch.GetTimestamp();
                    header = _snapshots.Write(image, createdAt);
                    written = Stopwatch.GetElapsedTime(started);
                    var oldestKept = _snapshots.Prune();
                    if (_options.TrimJournal && oldestKept > 0) _journal.DeleteSegmentsBefore(oldestKept);
                }
                var size = new FileInfo(_snapshots.List()[0].Path).Length;
                LastSnapshot = new SnapshotReport(header, stall, written, size, image.Trades().Count());
                _metrics.SnapshotWritten(written);
                Volatile.Write(ref _lastSnapshotAtMs, NowMs());
                var level = periodic && stall < SlowSnapshotStall && written < SlowSnapshotWrite ? LogLevel.Debug : LogLevel.Information;
                _logger.Log(level,
                    "Snapshot at sequence {Sequence}: {Trades} open trades, {Size} bytes, engine paused {StallMs:F2} ms, written in {WriteMs} ms",
                    header.LastSequence, LastSnapshot.OpenTrades, size, stall.TotalMilliseconds, (long)written.TotalMilliseconds);
            }
            catch (Exception e)
            {
                _logger.LogError(e, "Snapshot at sequence {Sequence} failed", image.LastSequence);
                _metrics.SnapshotFailed();
                throw;
            }
            finally
            {
                OfferSlotBuffer(image.TradeSlots);
            }
        }, CancellationToken.None, TaskContinuationOptions.DenyChildAttach, TaskScheduler.Default);
        return _snapshotWrite;
    }
}
