using System.Buffers.Binary;
using System.IO.Compression;
using System.Security.Cryptography;
using Exchange.Engine;

namespace Exchange.Journal;

/// <summary>What a snapshot's header says about it.</summary>
public sealed record SnapshotHeader(long LastSequence, long CreatedAtMs, long PayloadLength, string StateHash, string PayloadSha256);

/// <summary>A snapshot that failed its checks; recovery skips it and tries the previous one.</summary>
public sealed class SnapshotCorruptException(string path, string reason)
    : Exception($"Snapshot {System.IO.Path.GetFileName(path)} is unusable: {reason}")
{
    public string Path { get; } = path;
    public string Reason { get; } = reason;
}

/// <summary>
/// One snapshot on disk: a fixed header, then the engine's canonical state gzip-compressed.
/// <code>
///   0  magic "EXSNAP\0\0"      8  format version (u32), reserved (u32)
///  16  last applied sequence  24  created at (Unix ms)   32  payload length
///  40  state hash (SHA-256 of the canonical state)       72  SHA-256 of the payload
/// 104  SHA-256 of bytes 0..103 (so a flipped header byte is caught too)
/// 136  payload
/// </code>
/// Written to a temp file, fsynced, then renamed, so a crash leaves either the old set or the
/// new file complete.
/// </summary>
public static class SnapshotFile
{
    public const uint FormatVersion = 1;
    private const ulong Magic = 0x0000_5041_4E53_5845; // "EXSNAP\0\0"
    private const int HeaderLength = 136;

    public static SnapshotHeader Write(string path, StateImage image, long createdAtMs)
    {
        var temp = path + ".tmp";
        using var stateSha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var payloadSha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] header;
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16))
        {
            file.Write(new byte[HeaderLength]);
            var payload = new HashingStream(file, payloadSha);
            using (var gzip = new GZipStream(payload, CompressionLevel.Fastest, leaveOpen: true))
            using (var state = new HashingStream(gzip, stateSha))
                StateCodec.Write(image, state);
            header = EncodeHeader(image.LastSequence, createdAtMs, payload.Length, stateSha.GetHashAndReset(), payloadSha.GetHashAndReset());
            file.Position = 0;
            file.Write(header);
            file.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
        DirectorySync.Flush(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        return DecodeHeader(path, header);
    }

    /// <summary>Reads and fully verifies a snapshot: header checksum, payload checksum, state hash and position.</summary>
    public static (StateImage Image, SnapshotHeader Header) Read(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var headerBytes = new byte[HeaderLength];
        if (file.ReadAtLeast(headerBytes, HeaderLength, throwOnEndOfStream: false) < HeaderLength)
            throw new SnapshotCorruptException(path, "shorter than its header");
        var header = DecodeHeader(path, headerBytes);
        if (file.Length - HeaderLength != header.PayloadLength)
            throw new SnapshotCorruptException(path, $"payload is {file.Length - HeaderLength} bytes, header says {header.PayloadLength}");

        // Check the payload before decoding it: corrupt bytes must never be interpreted.
        file.Position = HeaderLength;
        if (Convert.ToHexStringLower(SHA256.HashData(file)) != header.PayloadSha256)
            throw new SnapshotCorruptException(path, "payload checksum mismatch");

        file.Position = HeaderLength;
        using var stateSha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        StateImage image;
        try
        {
            using var gzip = new GZipStream(file, CompressionMode.Decompress, leaveOpen: true);
            // Decompressing is the slowest step: it runs on another core, ahead of the hashing and decoding.
            using var decompressed = new ReadAheadStream(gzip);
            var state = new HashingStream(decompressed, stateSha);
            image = StateCodec.Read(state);
            state.CopyTo(Stream.Null);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or IOException)
        {
            throw new SnapshotCorruptException(path, e.Message);
        }
        if (Convert.ToHexStringLower(stateSha.GetHashAndReset()) != header.StateHash)
            throw new SnapshotCorruptException(path, "state hash mismatch");
        if (image.LastSequence != header.LastSequence)
            throw new SnapshotCorruptException(path, "position in header and state differ");
        return (image, header);
    }

    /// <summary>Reads only the header (verified by its own checksum); cheap, for listings.</summary>
    public static SnapshotHeader ReadHeader(string path)
    {
        using var file = File.OpenRead(path);
        var bytes = new byte[HeaderLength];
        if (file.ReadAtLeast(bytes, HeaderLength, throwOnEndOfStream: false) < HeaderLength)
            throw new SnapshotCorruptException(path, "shorter than its header");
        return DecodeHeader(path, bytes);
    }

    private static byte[] EncodeHeader(long lastSequence, long createdAtMs, long payloadLength, byte[] stateHash, byte[] payloadHash)
    {
        var h = new byte[HeaderLength];
        BinaryPrimitives.WriteUInt64LittleEndian(h, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(8), FormatVersion);
        BinaryPrimitives.WriteInt64LittleEndian(h.AsSpan(16), lastSequence);
        BinaryPrimitives.WriteInt64LittleEndian(h.AsSpan(24), createdAtMs);
        BinaryPrimitives.WriteInt64LittleEndian(h.AsSpan(32), payloadLength);
        stateHash.CopyTo(h, 40);
        payloadHash.CopyTo(h, 72);
        SHA256.HashData(h.AsSpan(0, 104), h.AsSpan(104));
        return h;
    }

    private static SnapshotHeader DecodeHeader(string path, ReadOnlySpan<byte> h)
    {
        if (BinaryPrimitives.ReadUInt64LittleEndian(h) != Magic) throw new SnapshotCorruptException(path, "not a snapshot");
        Span<byte> check = stackalloc byte[32];
        SHA256.HashData(h[..104], check);
        if (!check.SequenceEqual(h.Slice(104, 32))) throw new SnapshotCorruptException(path, "header checksum mismatch");
        var version = BinaryPrimitives.ReadUInt32LittleEndian(h[8..]);
        if (version != FormatVersion) throw new SnapshotCorruptException(path, $"unsupported format version {version}");
        return new SnapshotHeader(
            BinaryPrimitives.ReadInt64LittleEndian(h[16..]),
            BinaryPrimitives.ReadInt64LittleEndian(h[24..]),
            BinaryPrimitives.ReadInt64LittleEndian(h[32..]),
            Convert.ToHexStringLower(h.Slice(40, 32)),
            Convert.ToHexStringLower(h.Slice(72, 32)));
    }

    /// <summary>Passes bytes through (either direction) while hashing them and counting.</summary>
    private sealed class HashingStream(Stream inner, IncrementalHash hash) : Stream
    {
        private long _length;

        public override long Length => _length;

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            hash.AppendData(buffer);
            _length += buffer.Length;
            inner.Write(buffer);
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = inner.Read(buffer);
            hash.AppendData(buffer[..n]);
            _length += n;
            return n;
        }

        public override bool CanRead => inner.CanRead;
        public override bool CanWrite => inner.CanWrite;
        public override bool CanSeek => false;
        public override long Position { get => _length; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
