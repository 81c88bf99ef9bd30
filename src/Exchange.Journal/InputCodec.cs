using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;
using Exchange.Engine;

namespace Exchange.Journal;

/// <summary>
/// The journal's binary form of an <see cref="EngineInput"/>. Version 3, little-endian:
/// <code>
/// u8 version | u8 kind | i64 sequence | i64 timestampMs | kind fields
///   CreateAccount, queries: orderId(16) user(16) key
///   CreateTrade:  orderId user tradeId(16) symbol direction(u8) margin leverage stopLoss? takeProfit? key
///   CloseTrade:   orderId user tradeId key
///   PriceTick:    asset(i32) bid(i64) ask(i64)
/// symbol, key = u8 length+1 (0 = null) then UTF-8; key is the Idempotency-Key
/// decimal = u8 header (bit 7 sign, bits 0-4 scale; 0xFF = null) | u8 n | n bytes of the
///           96-bit magnitude, low first — the exact bits of the decimal, in 2..14 bytes.
/// guid = Guid.TryWriteBytes (little-endian layout); tradeId = u64 low, u64 high.
/// </code>
/// Version 1 is version 2 without the keys. Version 3 has version 2's layout; it marks a
/// CreateTrade validated with the stop-loss band (between the closing price and the liquidation
/// price), so one from versions 1 and 2 replays with the check it was taken under
/// (<see cref="EngineInput.StopLossCheckedAgainstOpenPrice"/>). Journals in every version still
/// replay, and all are frozen by golden tests: change the format only under a new version byte.
/// </summary>
public static class InputCodec
{
    public const byte FormatVersion = 3;
    private const byte FormatBeforeStopLossBand = 2;
    private const byte FormatWithoutKeys = 1;

    private const byte NullDecimal = 0xFF;
    /// <summary>The longest symbol a record holds, in UTF-8 bytes (its length is one byte).</summary>
    public const int MaxSymbolBytes = 254;
    private const int MaxDecimalLength = 2 + 12;
    private const int HeaderLength = 1 + 1 + 8 + 8;

    /// <summary>Enough room for any input whose symbol and key are at most 254 UTF-8 bytes each.</summary>
    public const int MaxEncodedLength = HeaderLength + 16 * 3 + 1 + MaxSymbolBytes + 1 + 4 * MaxDecimalLength + 1 + MaxSymbolBytes;

    /// <summary>Whether a record can hold <paramref name="symbol"/> (at most <see cref="MaxSymbolBytes"/> UTF-8 bytes).</summary>
    public static bool SymbolFits(string symbol) => Encoding.UTF8.GetByteCount(symbol) <= MaxSymbolBytes;

    /// <summary>Whether a record can hold <paramref name="idempotencyKey"/> (as long as a symbol may be).</summary>
    public static bool KeyFits(string idempotencyKey) => SymbolFits(idempotencyKey);

    /// <summary>Throws what <see cref="Encode(in EngineInput, Span{byte})"/> would, without encoding: for callers that must not find out on the engine thread.</summary>
    public static void ThrowIfUnencodable(in EngineInput input)
    {
        if (!input.IsQuery && input.Kind is not (InputKind.CreateAccount or InputKind.CreateTrade or InputKind.CloseTrade or InputKind.PriceTick))
            throw new ArgumentException($"Input kind {input.Kind} has no journal encoding.", nameof(input));
        if (input.Symbol is { } symbol && !SymbolFits(symbol))
            throw new ArgumentException($"Symbol is longer than {MaxSymbolBytes} UTF-8 bytes.", nameof(input));
        if (input.IdempotencyKey is { } key && !KeyFits(key))
            throw new ArgumentException($"Idempotency key is longer than {MaxSymbolBytes} UTF-8 bytes.", nameof(input));
        // Only a record in format 1 or 2 carries the old check; written again, it would replay under the new one.
        if (input.StopLossCheckedAgainstOpenPrice)
            throw new ArgumentException("A trade taken under the stop-loss check of journal formats 1 and 2 cannot be journaled again.", nameof(input));
    }

    public static void Encode(in EngineInput input, IBufferWriter<byte> writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var written = Encode(input, writer.GetSpan(MaxEncodedLength));
        writer.Advance(written);
    }

    /// <summary>Writes the input into <paramref name="destination"/> and returns the bytes used.</summary>
    public static int Encode(in EngineInput input, Span<byte> destination)
    {
        var w = new SpanWriter(destination);
        w.Byte(FormatVersion);
        w.Byte((byte)input.Kind);
        w.Int64(input.Sequence);
        w.Int64(input.TimestampMs);
        switch (input.Kind)
        {
            case InputKind.CreateAccount or InputKind.GetBalance or InputKind.GetUsdBalance or InputKind.GetOpenTrades:
                w.Guid(input.OrderId);
                w.Guid(input.User.Value);
                w.Text(input.IdempotencyKey);
                break;
            case InputKind.CreateTrade:
                w.Guid(input.OrderId);
                w.Guid(input.User.Value);
                w.UInt128(input.TradeId.Value);
                w.Text(input.Symbol);
                w.Byte((byte)input.Direction);
                w.Decimal(input.Margin);
                w.Decimal(input.Leverage);
                w.Decimal(input.StopLossPrice);
                w.Decimal(input.TakeProfitPrice);
                w.Text(input.IdempotencyKey);
                break;
            case InputKind.CloseTrade:
                w.Guid(input.OrderId);
                w.Guid(input.User.Value);
                w.UInt128(input.TradeId.Value);
                w.Text(input.IdempotencyKey);
                break;
            case InputKind.PriceTick:
                w.Int32(input.Asset.Index);
                w.Int64(input.Bid.Raw);
                w.Int64(input.Ask.Raw);
                break;
            default:
                throw new ArgumentException($"Input kind {input.Kind} has no journal encoding.", nameof(input));
        }
        return w.Position;
    }

    /// <summary>Reads one input; any malformed, short or over-long payload is <see cref="InvalidDataException"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static EngineInput Decode(ReadOnlySpan<byte> payload)
    {
        var r = new SpanReader(payload);
        var version = r.Byte();
        if (version is not (FormatVersion or FormatBeforeStopLossBand or FormatWithoutKeys))
            throw new InvalidDataException($"Unknown input format version {version} (this build reads {FormatWithoutKeys} to {FormatVersion}).");
        var keyed = version != FormatWithoutKeys;
        var input = new EngineInput { Kind = (InputKind)r.Byte(), Sequence = r.Int64(), TimestampMs = r.Int64() };
        switch (input.Kind)
        {
            case InputKind.CreateAccount or InputKind.GetBalance or InputKind.GetUsdBalance or InputKind.GetOpenTrades:
                input.OrderId = r.Guid();
                input.User = new UserId(r.Guid());
                if (keyed) input.IdempotencyKey = r.Key();
                break;
            case InputKind.CreateTrade:
                input.OrderId = r.Guid();
                input.User = new UserId(r.Guid());
                input.TradeId = new TradeId(r.UInt128());
                input.Symbol = r.Symbol();
                input.Direction = (Direction)r.Byte();
                input.Margin = r.Decimal() ?? throw new InvalidDataException("Margin is missing.");
                input.Leverage = r.Decimal() ?? throw new InvalidDataException("Leverage is missing.");
                input.StopLossPrice = r.Decimal();
                input.TakeProfitPrice = r.Decimal();
                input.StopLossCheckedAgainstOpenPrice = version != FormatVersion;
                if (keyed) input.IdempotencyKey = r.Key();
                break;
            case InputKind.CloseTrade:
                input.OrderId = r.Guid();
                input.User = new UserId(r.Guid());
                input.TradeId = new TradeId(r.UInt128());
                if (keyed) input.IdempotencyKey = r.Key();
                break;
            case InputKind.PriceTick:
                input.Asset = new AssetId(r.Int32());
                input.Bid = new Price(r.Int64());
                input.Ask = new Price(r.Int64());
                break;
            default:
                throw new InvalidDataException($"Unknown input kind {(byte)input.Kind}.");
        }
        if (r.Remaining != 0)
            throw new InvalidDataException($"{r.Remaining} unexpected bytes after a {input.Kind} input.");
        return input;
    }

    private ref struct SpanWriter(Span<byte> buffer)
    {
        private readonly Span<byte> buffer = buffer;
        public int Position { get; private set; }

        private Span<byte> Take(int count)
        {
            if (buffer.Length - Position < count)
                throw new ArgumentException("Destination is too small for the encoded input.");
            var span = buffer.Slice(Position, count);
            Position += count;
            return span;
        }

        public void Byte(byte value) => Take(1)[0] = value;
        public void Int32(int value) => BinaryPrimitives.WriteInt32LittleEndian(Take(4), value);
        public void Int64(long value) => BinaryPrimitives.WriteInt64LittleEndian(Take(8), value);
        public void Guid(Guid value) => value.TryWriteBytes(Take(16));

        public void UInt128(UInt128 value)
        {
            var span = Take(16);
            BinaryPrimitives.WriteUInt64LittleEndian(span, (ulong)value);
            BinaryPrimitives.WriteUInt64LittleEndian(span[8..], (ulong)(value >> 64));
        }

        /// <summary>A symbol or a key: u8 length+1 (0 = null), then UTF-8.</summary>
        public void Text(string? text)
        {
            if (text is null)
            {
                Byte(0);
                return;
            }
            var length = Encoding.UTF8.GetByteCount(text);
            if (length > MaxSymbolBytes)
                throw new ArgumentException($"Text is longer than {MaxSymbolBytes} UTF-8 bytes.");
            Byte((byte)(length + 1));
            Encoding.UTF8.GetBytes(text, Take(length));
        }

        public void Decimal(decimal? value)
        {
            if (value is not { } d)
            {
                Byte(NullDecimal);
                return;
            }
            Span<int> bits = stackalloc int[4];
            decimal.GetBits(d, bits);
            var flags = bits[3];
            Byte((byte)(((flags >> 16) & 0x1F) | (flags < 0 ? 0x80 : 0)));
            Span<byte> magnitude = stackalloc byte[12];
            BinaryPrimitives.WriteInt32LittleEndian(magnitude, bits[0]);
            BinaryPrimitives.WriteInt32LittleEndian(magnitude[4..], bits[1]);
            BinaryPrimitives.WriteInt32LittleEndian(magnitude[8..], bits[2]);
            var n = 12;
            while (n > 0 && magnitude[n - 1] == 0) n--;
            Byte((byte)n);
            magnitude[..n].CopyTo(Take(n));
        }
    }

    private ref struct SpanReader(ReadOnlySpan<byte> buffer)
    {
        private readonly ReadOnlySpan<byte> buffer = buffer;
        private int position;

        public readonly int Remaining => buffer.Length - position;

        private ReadOnlySpan<byte> Take(int count)
        {
            if (Remaining < count)
                throw new InvalidDataException("Input payload is truncated.");
            var span = buffer.Slice(position, count);
            position += count;
            return span;
        }

        public byte Byte() => Take(1)[0];
        public int Int32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));
        public long Int64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));
        public Guid Guid() => new(Take(16));

        public UInt128 UInt128()
        {
            var span = Take(16);
            return new UInt128(BinaryPrimitives.ReadUInt64LittleEndian(span[8..]), BinaryPrimitives.ReadUInt64LittleEndian(span));
        }

        public string? Symbol()
        {
            var prefix = Byte();
            if (prefix == 0) return null;
            return SymbolCache.Get(Take(prefix - 1));
        }

        /// <summary>Keys are all different: not worth the symbols' cache.</summary>
        public string? Key()
        {
            var prefix = Byte();
            if (prefix == 0) return null;
            try
            {
                return StrictUtf8.GetString(Take(prefix - 1));
            }
            catch (DecoderFallbackException e)
            {
                throw new InvalidDataException("Idempotency key is not valid UTF-8.", e);
            }
        }

        public decimal? Decimal()
        {
            var header = Byte();
            if (header == NullDecimal) return null;
            var scale = header & 0x7F;
            if (scale > 28)
                throw new InvalidDataException($"Decimal scale {scale} is out of range.");
            var n = Byte();
            if (n > 12)
                throw new InvalidDataException($"Decimal magnitude of {n} bytes is too long.");
            Span<byte> magnitude = stackalloc byte[12];
            magnitude.Clear();
            Take(n).CopyTo(magnitude);
            return new decimal(
                BinaryPrimitives.ReadInt32LittleEndian(magnitude),
                BinaryPrimitives.ReadInt32LittleEndian(magnitude[4..]),
                BinaryPrimitives.ReadInt32LittleEndian(magnitude[8..]),
                (header & 0x80) != 0,
                (byte)scale);
        }
    }

    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    /// <summary>
    /// A replay decodes the same few symbols a million times: hand out one string per symbol
    /// instead of allocating each time. Slots hold immutable entries, so any thread may read.
    /// </summary>
    private static class SymbolCache
    {
        private static readonly Entry?[] Slots = new Entry?[64];

        private sealed record Entry(byte[] Utf8, string Text);

        public static string Get(ReadOnlySpan<byte> utf8)
        {
            var slot = utf8.IsEmpty ? 0 : (utf8.Length * 31 + utf8[0] * 7 + utf8[^1]) & (Slots.Length - 1);
            var entry = Volatile.Read(ref Slots[slot]);
            if (entry is not null && utf8.SequenceEqual(entry.Utf8)) return entry.Text;
            string text;
            try
            {
                text = StrictUtf8.GetString(utf8);
            }
            catch (DecoderFallbackException e)
            {
                throw new InvalidDataException("Symbol is not valid UTF-8.", e);
            }
            Volatile.Write(ref Slots[slot], new Entry(utf8.ToArray(), text));
            return text;
        }
    }
}
