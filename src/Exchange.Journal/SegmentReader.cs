using System.Runtime.CompilerServices;
using Microsoft.Win32.SafeHandles;

namespace Exchange.Journal;

internal enum RecordStatus
{
    Record,
    End,

    /// <summary>Cut short or checksum mismatch: a torn write if nothing valid follows.</summary>
    Bad,

    /// <summary>A whole, checksummed record whose sequence does not increase: never a torn write.</summary>
    OutOfOrder,

    /// <summary>
    /// Zeros where the next header would be: space a commit filled ahead of its records (an
    /// fsync that does not have to grow the file is much cheaper). No record header is all
    /// zeros, since sequences start at 1; whether the rest of the segment is zeros too is for
    /// recovery to check.
    /// </summary>
    ZeroFill,
}

/// <summary>
/// Reads one segment's records front to back through a reused buffer: one large read per
/// megabyte, and payloads handed out as slices of that buffer (valid until the next call).
/// </summary>
internal sealed class SegmentReader : IDisposable
{
    private readonly SafeFileHandle file;
    private byte[] buffer;
    private int start;
    private int end;
    private long filePosition;

    public SegmentReader(string path, byte[] buffer)
    {
        Path = path;
        file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, FileOptions.SequentialScan);
        Length = RandomAccess.GetLength(file);
        this.buffer = buffer;
    }

    public string Path { get; }

    /// <summary>The file's length when opened; later growth is not read.</summary>
    public long Length { get; }

    /// <summary>File offset of the next record.</summary>
    public long Offset { get; private set; }

    /// <summary>The buffer in use, possibly grown: hand it to the next reader.</summary>
    public byte[] Buffer => buffer;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public RecordStatus Next(long previousSequence, out long sequence, out ReadOnlyMemory<byte> payload, out string problem)
    {
        sequence = 0;
        payload = default;
        problem = "";
        if (Offset == Length) return RecordStatus.End;
        if (!Ensure(RecordFormat.HeaderLength))
        {
            var left = (int)(Length - Offset);
            if (Ensure(left) && !buffer.AsSpan(start, left).ContainsAnyExcept((byte)0)) return RecordStatus.ZeroFill;
            problem = $"record header cut short ({Length - Offset} bytes left)";
            return RecordStatus.Bad;
        }
        var header = buffer.AsSpan(start, RecordFormat.HeaderLength);
        if (!header.ContainsAnyExcept((byte)0)) return RecordStatus.ZeroFill;
        var payloadLength = RecordFormat.PayloadLength(header);
        if (payloadLength > RecordFormat.MaxPayloadLength)
        {
            problem = $"record length {payloadLength} is beyond the limit";
            return RecordStatus.Bad;
        }
        var recordLength = RecordFormat.HeaderLength + payloadLength;
        if (!Ensure(recordLength))
        {
            problem = $"record of {recordLength} bytes cut short ({Length - Offset} bytes left)";
            return RecordStatus.Bad;
        }
        var record = buffer.AsSpan(start, recordLength);
        if (RecordFormat.Checksum(record) != RecordFormat.StoredChecksum(record))
        {
            problem = "checksum mismatch";
            return RecordStatus.Bad;
        }
        sequence = RecordFormat.Sequence(record);
        if (sequence <= previousSequence)
        {
            problem = $"sequence {sequence} does not follow {previousSequence}";
            return RecordStatus.OutOfOrder;
        }
        payload = buffer.AsMemory(start + RecordFormat.HeaderLength, payloadLength);
        start += recordLength;
        Offset += recordLength;
        return RecordStatus.Record;
    }

    /// <summary>Makes <paramref name="count"/> bytes from <see cref="Offset"/> available, if the file has them.</summary>
    private bool Ensure(int count)
    {
        if (end - start >= count) return true;
        if (Length - Offset < count) return false;
        if (count > buffer.Length)
        {
            var grown = new byte[Math.Max(count, buffer.Length * 2)];
            buffer.AsSpan(start, end - start).CopyTo(grown);
            buffer = grown;
            end -= start;
            start = 0;
        }
        else if (start > 0)
        {
            buffer.AsSpan(start, end - start).CopyTo(buffer);
            end -= start;
            start = 0;
        }
        while (end - start < count)
        {
            var read = RandomAccess.Read(file, buffer.AsSpan(end), filePosition);
            if (read == 0) return false;
            end += read;
            filePosition += read;
        }
        return true;
    }

    public void Dispose() => file.Dispose();
}
