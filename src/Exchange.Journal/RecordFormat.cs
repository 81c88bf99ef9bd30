using System.Buffers.Binary;
using System.IO.Hashing;

namespace Exchange.Journal;

/// <summary>
/// A journal record, little-endian: <c>u32 payloadLength | u32 crc32c | i64 sequence | payload</c>.
/// The CRC-32C covers sequence and payload, which lie next to each other, so it is one pass.
/// </summary>
internal static class RecordFormat
{
    public const int HeaderLength = 16;

    /// <summary>Far above any input; bounds what recovery believes a length field.</summary>
    public const int MaxPayloadLength = 16 << 20;

    public static void WriteHeader(Span<byte> record, int payloadLength, long sequence)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(record, (uint)payloadLength);
        BinaryPrimitives.WriteUInt32LittleEndian(record[4..], 0);
        BinaryPrimitives.WriteInt64LittleEndian(record[8..], sequence);
    }

    public static int PayloadLength(ReadOnlySpan<byte> record) => (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(record), int.MaxValue);
    public static uint StoredChecksum(ReadOnlySpan<byte> record) => BinaryPrimitives.ReadUInt32LittleEndian(record[4..]);
    public static long Sequence(ReadOnlySpan<byte> record) => BinaryPrimitives.ReadInt64LittleEndian(record[8..]);

    /// <summary>CRC-32C of sequence + payload of a whole record.</summary>
    public static uint Checksum(ReadOnlySpan<byte> record) =>
        Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, record[8..]);

    public static void Seal(Span<byte> record) =>
        BinaryPrimitives.WriteUInt32LittleEndian(record[4..], Checksum(record));
}
