using System.Diagnostics.Metrics;
using Exchange.Engine;

namespace Exchange.Journal;

/// <summary>Histogram bucket bounds shared by the exchange's latency metrics.</summary>
public static class LatencyBuckets
{
    /// <summary>
    /// Seconds, for what takes microseconds to milliseconds. Without advice the exporter uses
    /// bounds meant for milliseconds (5, 10, 25 … 10,000), which put every command of a healthy
    /// exchange in the first bucket, 0 to 5 s.
    /// </summary>
    public static readonly double[] FineSeconds = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5];
}

/// <summary>
/// The engine host's OpenTelemetry instruments (meter "Exchange.Engine"), exported by the
/// server at /metrics. Counters are bumped where the work happens; gauges read the state.
/// </summary>
internal sealed class EngineMetrics : IDisposable
{
    public const string MeterName = "Exchange.Engine";

    private readonly Meter _meter = new(MeterName);
    private readonly Counter<long> _inputs;
    private readonly Counter<long> _closes;
    private readonly Histogram<double> _snapshotSeconds;
    private readonly Counter<long> _snapshotFailures;
    private readonly Histogram<double> _fsyncSeconds;
    private readonly Histogram<int> _batchRecords;
    private readonly Histogram<double> _queueWait;
    private readonly Histogram<double> _journalWait;

    /// <param name="engine">Read for the gauges off the engine thread: each value is one aligned word, so a scrape sees a moment's value.</param>
    public EngineMetrics(EngineHost host, TradingEngine engine)
    {
        _inputs = _meter.CreateCounter<long>("exchange_engine_inputs", description: "Inputs applied by the engine, by kind");
        _closes = _meter.CreateCounter<long>("exchange_trades_closed", description: "Trades closed, by reason (liquidations included)");
        _snapshotSeconds = _meter.CreateHistogram("exchange_snapshot_duration", "s", "Time to encode and write a snapshot", tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });
        _snapshotFailures = _meter.CreateCounter<long>("exchange_snapshot_failures", description: "Snapshots that failed to write");
        // Sub-millisecond buckets: a healthy fsync is 0.1-0.5 ms, and its tail is what commands wait for.
        _fsyncSeconds = _meter.CreateHistogram("exchange_journal_fsync_duration", "s",
            "Time of each journal fsync (every acknowledged command waits for one)", tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets.FineSeconds });
        // A command's time in the engine host splits into these two and the fsync above: where a
        // slow reply waited (for the engine thread, or for the disk behind a slow fsync).
        _queueWait = _meter.CreateHistogram("exchange_engine_queue_wait", "s",
            "From a command's submission until the engine thread takes it", tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets.FineSeconds });
        _journalWait = _meter.CreateHistogram("exchange_journal_wait", "s",
            "From the engine thread taking a command until it is durable (a query: until what it read is) and its reply is released", tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets.FineSeconds });
        _batchRecords = _meter.CreateHistogram("exchange_journal_batch_records", "{record}",
            "Records written by each group commit", tags: null,
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256, 1024] });
        _meter.CreateObservableGauge("exchange_engine_open_trades", () => engine.OpenTradeCount, description: "Open trades");
        // The house's side of every close: the fund pays the traders' losses beyond their margin
        // (a gap through a liquidation price), and may go below zero; the house PnL is the traders' PnL turned around.
        _meter.CreateObservableGauge("exchange_insurance_fund_usd", () => (double)engine.InsuranceFund.ToDecimal(),
            description: "Insurance fund in USD: liquidated margins in, losses past a trader's margin out");
        _meter.CreateObservableGauge("exchange_house_pnl_usd", () => (double)engine.HousePnl.ToDecimal(),
            description: "The house's PnL in USD, the sum of the traders' realized PnL turned around");
        _meter.CreateObservableGauge("exchange_journal_lag", () => host.AppendedSequence - host.DurableSequence,
            description: "Inputs applied but not yet durable (replies waiting for fsync)");
        _meter.CreateObservableGauge("exchange_engine_sequence", () => host.DurableSequence, description: "Highest durable log sequence");
        _meter.CreateObservableGauge("exchange_recovery_duration", () => host.Recovery.Duration.TotalSeconds, "s",
            "How long recovery took at start");
        // Every command goes through the engine thread: when it waits for a core (a busy machine,
        // or a kernel thread holding one, docs/benchmarks.md fifteenth pass) every command waits.
        _meter.CreateObservableCounter("exchange_engine_thread_cpu", () => EngineThread(host, t => t.OnCpu), "s",
            "The engine thread's time on a CPU");
        _meter.CreateObservableCounter("exchange_engine_thread_runqueue_wait", () => EngineThread(host, t => t.Waiting), "s",
            "The engine thread's time runnable but waiting for a CPU");
        _meter.CreateObservableGauge("exchange_snapshot_age", () => host.LastSnapshotAgeSeconds, "s",
            "Seconds since the last snapshot was written (since start when none yet)");
    }

    private static IEnumerable<Measurement<double>> EngineThread(EngineHost host, Func<(TimeSpan OnCpu, TimeSpan Waiting), TimeSpan> pick) =>
        host.EngineThreadTimes is { } times ? [new Measurement<double>(pick(times).TotalSeconds)] : [];

    public void Applied(InputKind kind) => _inputs.Add(1, new KeyValuePair<string, object?>("kind", kind.ToString()));

    public void Closed(CloseReason reason) => _closes.Add(1, new KeyValuePair<string, object?>("reason", reason.ToString()));

    public void SnapshotWritten(TimeSpan duration) => _snapshotSeconds.Record(duration.TotalSeconds);

    public void SnapshotFailed() => _snapshotFailures.Add(1);

    public void JournalBatchWritten(int records, TimeSpan fsync)
    {
        _batchRecords.Record(records);
        if (fsync > TimeSpan.Zero) _fsyncSeconds.Record(fsync.TotalSeconds);
    }

    public void Taken(TimeSpan queueWait) => _queueWait.Record(queueWait.TotalSeconds);

    public void Released(TimeSpan journalWait) => _journalWait.Record(journalWait.TotalSeconds);

    public void Dispose() => _meter.Dispose();
}
