namespace Exchange.Journal;

public sealed partial class EngineHost
{
    /// <summary>The journal's commit counters (batches, records, fsyncs and their time), for benchmarks and metrics.</summary>
    public JournalStats JournalStats => _journal.Stats;
}
