using System.Globalization;
using Exchange.Data;
using Exchange.Journal;

namespace Exchange.Server;

/// <summary>
/// <c>Exchange.Server data list|verify|hash|cut-tail [--data DIR]</c>: look into a data folder
/// without starting the exchange, or set aside a last batch that a power cut damaged. All but
/// <c>list</c> take the journal's lock, so they refuse to run beside a live engine.
/// </summary>
internal static class DataFolderTool
{
    public static int Run(string[] args, TextWriter output)
    {
        var dataDir = args.SkipWhile(a => a != "--data").Skip(1).FirstOrDefault()
            ?? Environment.GetEnvironmentVariable("EXCHANGE_DATA_DIR") ?? "./data";
        var options = new EngineHostOptions { DataDirectory = dataDir };
        if (args.FirstOrDefault() is "list" or "verify" or "hash" or "cut-tail" && !Directory.Exists(Path.Combine(dataDir, "journal")))
        {
            // Recovery would create an empty exchange there and call it healthy: a mistyped path
            // to a backup must not look like a good one.
            output.WriteLine($"no exchange data in {Path.GetFullPath(dataDir)} (no journal folder)");
            return 1;
        }
        switch (args.FirstOrDefault())
        {
            case "list":
                return ListSnapshots(options, output);
            case "verify":
            case "hash":
                return VerifyAndHash(options, output);
            case "cut-tail":
                return CutDamagedTail(options, apply: args.Contains("--yes"), output);
            default:
                output.WriteLine("usage: Exchange.Server data list|verify|hash|cut-tail [--yes] [--data DIR]");
                return 2;
        }
    }

    private static int ListSnapshots(EngineHostOptions options, TextWriter output)
    {
        var store = new SnapshotStore(Path.Combine(options.DataDirectory, "snapshots"), int.MaxValue);
        var bad = 0;
        output.WriteLine("sequence              created (UTC)         bytes        state hash                                                        checksum");
        foreach (var entry in store.List())
        {
            var size = new FileInfo(entry.Path).Length;
            try
            {
                var (_, header) = SnapshotFile.Read(entry.Path);
                var created = DateTimeOffset.FromUnixTimeMilliseconds(header.CreatedAtMs).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
                output.WriteLine($"{header.LastSequence,-21} {created,-21} {size,-12} {header.StateHash} ok");
            }
            catch (SnapshotCorruptException e)
            {
                bad++;
                output.WriteLine($"{entry.LastSequence,-21} {"?",-21} {size,-12} {"?",-64} CORRUPT: {e.Reason}");
            }
        }
        return bad == 0 ? 0 : 1;
    }

    private static int VerifyAndHash(EngineHostOptions options, TextWriter output)
    {
        try
        {
            var (engine, journal, _, report) = EngineHost.Recover(options);
            using (journal)
            {
                var info = journal.Recovery;
                output.WriteLine($"journal: {info.Segments} segments, {info.Records} records, last sequence {info.LastSequence}" +
                    (info.WasTruncated ? $", cut {info.TruncatedBytes} torn bytes from {info.TruncatedSegment}" : ", no torn tail"));
                output.WriteLine($"snapshot: {report.SnapshotPath ?? "(none)"} at sequence {report.SnapshotSequence}, {report.SnapshotsSkipped} corrupt skipped");
                output.WriteLine($"replayed: {report.RecordsReplayed} records in {report.Duration.TotalMilliseconds:F0} ms");
                output.WriteLine($"state: sequence {engine.LastSequence}, {engine.AccountCount} accounts, {engine.OpenTradeCount} open trades, " +
                    $"insurance fund {engine.InsuranceFund}, house PnL {engine.HousePnl}, conserved {EngineLineProtocol.IsConserved(engine)}");
                output.WriteLine($"state hash: {report.StateHash.GetAwaiter().GetResult()}");
            }
            ReportRecorderOverflow(options.DataDirectory, output);
            return 0;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            output.WriteLine($"cannot recover {options.DataDirectory}: {e.Message}");
            return 1;
        }
    }

    /// <summary>
    /// After a power cut, when the exchange refused to start because a bad record in the journal's
    /// last segment has valid records after it: says what setting that tail aside would cut, and
    /// with <c>--yes</c> does it (<see cref="FileJournal.CutDamagedTail"/>), unless a snapshot or
    /// the recorder's overflow file shows the records were acknowledged. The exchange's own start
    /// then checks the database against the journal's new end.
    /// </summary>
    private static int CutDamagedTail(EngineHostOptions options, bool apply, TextWriter output)
    {
        try
        {
            var snapshot = SnapshotStore.NewestSequenceBegun(Path.Combine(options.DataDirectory, "snapshots"));
            var overflow = RecorderOverflow.LastInputWaiting(Path.Combine(options.DataDirectory, ServerSetup.RecorderOverflowFolder));
            var cut = FileJournal.CutDamagedTail(Path.Combine(options.DataDirectory, "journal"), Math.Max(snapshot, overflow),
                options.MaxBatch, apply, options.Journal, out var opened);
            if (cut is null)
            {
                output.WriteLine(opened is { WasTruncated: true }
                    ? $"the journal opens: nothing to cut (a torn last record, {opened.TruncatedBytes} bytes, was cut from {opened.TruncatedSegment}, as at every start)"
                    : "the journal opens as it is: nothing to cut");
                return 0;
            }
            var found = cut.SequencesSetAside.Count == 0 ? "no whole record"
                : $"{cut.SequencesSetAside.Count} whole record(s), sequences {cut.SequencesSetAside[0]}–{cut.SequencesSetAside[^1]},";
            var done = cut.SavedTo is not null;
            output.WriteLine($"{(done ? "cut" : "would cut")} {cut.Bytes} bytes from {cut.SegmentPath} at offset {cut.Offset}: the bad record and {found} after it");
            output.WriteLine($"the journal {(done ? "now ends" : "would end")} at sequence {cut.LastSequenceKept}; the newest snapshot is at {snapshot}, " +
                (overflow > 0 ? $"the recorder's overflow file reaches input {overflow}" : "the recorder's overflow file is empty"));
            if (!done)
            {
                output.WriteLine("nothing was changed: `data cut-tail --yes` cuts it, keeping the bytes in a file beside the segment");
                return 0;
            }
            output.WriteLine($"saved as they were in {cut.SavedTo} (appending that file to the segment, before the exchange starts, undoes the cut)");
            output.WriteLine("start the exchange: it refuses a database that recorded orders or events past the journal's new end (those were acknowledged)");
            return 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            output.WriteLine($"cut-tail: {e.Message}");
            return 1;
        }
    }

    /// <summary>What the event recorder left waiting for the database, if anything.</summary>
    private static void ReportRecorderOverflow(string dataDirectory, TextWriter output)
    {
        var overflow = Path.Combine(dataDirectory, ServerSetup.RecorderOverflowFolder);
        if (!Directory.Exists(overflow)) return;
        using var file = FileJournal.Open(overflow);
        output.WriteLine($"recorder overflow: {file.Recovery.Records} records waiting in {overflow}; " +
            "the next start writes their orders to the database (recovery re-creates the events)");
    }
}
