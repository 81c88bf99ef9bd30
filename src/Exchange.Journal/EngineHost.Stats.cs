namespace Exchange.Journal;

public sealed partial class EngineHost
{
    /// <summary>The journal writer's counters (batches, records, fsyncs and their time), for benchmarks and metrics.</summary>
    public JournalStats JournalStats => _journal.Stats;
}
