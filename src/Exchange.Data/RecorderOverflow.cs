using Exchange.Journal;

namespace Exchange.Data;

/// <summary>What the event recorder left in its overflow folder, for tools that look into a data folder.</summary>
public static class RecorderOverflow
{
    /// <summary>
    /// The highest input sequence of the events and orders waiting in the overflow folder (0 when
    /// there is none): everything in it was handed over only once the journal had made it durable.
    /// Opens the folder's journal, so it refuses while an exchange holds it.
    /// </summary>
    public static long LastInputWaiting(string directory)
    {
        if (!Directory.Exists(directory)) return 0;
        using var file = FileJournal.Open(directory);
        long last = 0;
        foreach (var record in file.ReadAfter(0))
            last = Math.Max(last, RecorderItemCodec.InputSequenceOf(record.Payload.Span));
        return last;
    }
}
