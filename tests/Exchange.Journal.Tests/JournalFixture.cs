using System.Buffers.Binary;

namespace Exchange.Journal.Tests;

/// <summary>A throw-away journal directory and helpers to write and read records in tests.</summary>
internal sealed class TempJournalDirectory : IDisposable
{
    public TempJournalDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "journal-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string[] SegmentFiles() => [.. Directory.GetFiles(Path, "*.seg").Order(StringComparer.Ordinal)];

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
    }

    public static JournalOptions NoFsync(long segmentSize = JournalOptions.DefaultSegmentSize) =>
        new() { FsyncEnabled = false, SegmentSize = segmentSize };

    /// <summary>A payload that says which sequence it belongs to, of a length that varies with it.</summary>
    public static byte[] PayloadFor(long sequence)
    {
        var payload = new byte[8 + (int)(sequence % 70)];
        BinaryPrimitives.WriteInt64LittleEndian(payload, sequence);
        for (var i = 8; i < payload.Length; i++) payload[i] = (byte)(sequence * 31 + i);
        return payload;
    }

    public static List<(long Sequence, byte[] Payload)> ReadAll(FileJournal journal, long after = 0) =>
        [.. journal.ReadAfter(after).Select(r => (r.Sequence, r.Payload.ToArray()))];

    /// <summary>Appends the records, committing every 100 as the engine commits after each run of inputs (Dispose the rest).</summary>
    public void Write(long from, long to, JournalOptions options)
    {
        using var journal = FileJournal.Open(Path, options);
        for (var s = from; s <= to; s++)
        {
            journal.Append(s, PayloadFor(s));
            if (s % 100 == 0) journal.Commit();
        }
    }

    /// <summary>
    /// Where each whole record of a segment's bytes starts and its sequence ([u32 length][u32 crc][i64 seq][payload]),
    /// up to the zeros filled ahead, the end, or a record half-copied by a commit running while the bytes were read.
    /// </summary>
    public static IEnumerable<(int Offset, long Sequence)> RecordsIn(byte[] segment)
    {
        var last = 0L;
        for (var at = 0; at + 16 <= segment.Length;)
        {
            var length = BinaryPrimitives.ReadInt32LittleEndian(segment.AsSpan(at));
            var sequence = BinaryPrimitives.ReadInt64LittleEndian(segment.AsSpan(at + 8));
            if (length <= 0 || at + 16 + length > segment.Length || sequence <= last) yield break;
            yield return (at, sequence);
            last = sequence;
            at += 16 + length;
        }
    }

    public static void AssertRecords(FileJournal journal, long first, long last)
    {
        var records = ReadAll(journal, first - 1);
        Assert.Equal(last - first + 1, records.Count);
        for (var i = 0; i < records.Count; i++)
        {
            Assert.Equal(first + i, records[i].Sequence);
            Assert.Equal(PayloadFor(first + i), records[i].Payload);
        }
    }
}
