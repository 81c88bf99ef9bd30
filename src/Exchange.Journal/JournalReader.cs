namespace Exchange.Journal;

/// <summary>Replays records in order through one reused buffer; no allocation per record.</summary>
internal static class JournalReader
{
    public static IEnumerable<JournalRecord> Read(Segment[] segments, long after, long limit)
    {
        var buffer = new byte[1 << 20];
        var previous = 0L;
        for (var i = 0; i < segments.Length; i++)
        {
            // A segment holds the sequences up to the next one's first: skip it unopened if all are old.
            if (i + 1 < segments.Length && segments[i + 1].FirstSequence - 1 <= after) continue;
            if (segments[i].FirstSequence > limit) yield break;
            using var reader = new SegmentReader(segments[i].Path, buffer);
            while (true)
            {
                var status = reader.Next(previous, out var sequence, out var payload, out var problem);
                if (status is RecordStatus.End or RecordStatus.ZeroFill) break;
                // Past the limit a commit may be filling the space this reader sees right now.
                if (status != RecordStatus.Record && previous >= limit) yield break;
                if (status != RecordStatus.Record)
                    throw new JournalCorruptException(reader.Path, reader.Offset, problem);
                if (sequence > limit) yield break;
                previous = sequence;
                if (sequence > after) yield return new JournalRecord(sequence, payload);
            }
            buffer = reader.Buffer;
        }
    }
}
