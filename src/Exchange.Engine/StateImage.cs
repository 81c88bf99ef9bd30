using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;

namespace Exchange.Engine;

/// <summary>
/// A copy of the engine's whole state, taken on the engine thread in one pass of array
/// copies (so a snapshot barely pauses trading) and encoded elsewhere. Trade slots are
/// copied as they are: empty ones have OpenSequence 0 and are skipped when encoding.
/// </summary>
public sealed class StateImage
{
    public long LastSequence { get; init; }
    public long EventSequence { get; init; }
    public Usd InsuranceFund { get; init; }
    public Usd HousePnl { get; init; }
    public Usd TotalDeposits { get; init; }
    public long IgnoredTicks { get; init; }
    public required MarketImage[] Markets { get; init; }
    public required AccountImage[] Accounts { get; init; }
    public required TradeView[] TradeSlots { get; init; }
    public int TradeSlotCount { get; init; }

    public IEnumerable<TradeView> Trades()
    {
        for (var i = 0; i < TradeSlotCount; i++)
            if (TradeSlots[i].OpenSequence != 0) yield return TradeSlots[i];
    }
}

public readonly record struct MarketImage(string Symbol, Price Bid, Price Ask, long PriceTimestampMs);

public readonly record struct AccountImage(UserId User, Usd Free, Usd Locked);

/// <summary>
/// The canonical encoding of a <see cref="StateImage"/>: fixed field order, little-endian,
/// accounts sorted by user id and trades by trade id, so equal states give equal bytes
/// whatever order they were built in. The state hash is SHA-256 over these bytes, and
/// snapshots store them.
/// <code>
/// i32 magic "EXST" | i32 version 1 | i64 lastSequence, eventSequence, insuranceFund,
///     housePnl, totalDeposits, ignoredTicks
/// i32 n, then n markets:  string symbol (7-bit length + UTF-8) | i64 bid, ask, priceTimestampMs
/// i32 n, then n accounts: guid user (16) | i64 free, locked
/// i32 n, then n trades:   u64 id high, id low | guid owner | i32 asset | u8 direction |
///     i64 openPrice, quantity, margin | i32 leverage | i64 liquidation, stopLoss, takeProfit,
///     openSequence, openedAtMs
/// </code>
/// (The layout of the original <see cref="BinaryWriter"/> encoding, written and parsed here
/// through a 64 KiB buffer: a million trades go through in large blocks instead of a dozen
/// stream calls per trade.)
/// </summary>
public static class StateCodec
{
    private const int Magic = 0x54535845; // "EXST"
    public const int FormatVersion = 1;

    private const int BufferSize = 64 << 10;
    /// <summary>Bytes of one trade as <see cref="WriteTrade"/> writes it.</summary>
    public const int TradeLength = 8 + 8 + 16 + 4 + 1 + 8 + 8 + 8 + 4 + 8 + 8 + 8 + 8 + 8;
    private const int AccountLength = 16 + 8 + 8;
    private const int ParallelSortThreshold = 1 << 16;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Write(StateImage image, Stream output)
    {
        var w = new BlockWriter(output);
        try
        {
            w.Int32(Magic);
            w.Int32(FormatVersion);
            w.Int64(image.LastSequence);
            w.Int64(image.EventSequence);
            w.Int64(image.InsuranceFund.Cents);
            w.Int64(image.HousePnl.Cents);
            w.Int64(image.TotalDeposits.Cents);
            w.Int64(image.IgnoredTicks);

            w.Int32(image.Markets.Length);
            foreach (var m in image.Markets)
            {
                w.String(m.Symbol);
                w.Int64(m.Bid.Raw);
                w.Int64(m.Ask.Raw);
                w.Int64(m.PriceTimestampMs);
            }

            var accounts = (AccountImage[])image.Accounts.Clone();
            accounts.AsSpan().Sort(new AccountOrder());
            w.Int32(accounts.Length);
            foreach (ref readonly var a in accounts.AsSpan())
            {
                var span = w.Take(AccountLength);
                a.User.Value.TryWriteBytes(span);
                BinaryPrimitives.WriteInt64LittleEndian(span[16..], a.Free.Cents);
                BinaryPrimitives.WriteInt64LittleEndian(span[24..], a.Locked.Cents);
            }

            // Sort small keys (id + slot), not the 112-byte trades themselves. A large state is
            // sorted in two halves at once (on two cores) and the halves merged as they are written.
            var slots = image.TradeSlots;
            var keys = new TradeKey[CountTrades(image)];
            var n = 0;
            for (var i = 0; i < image.TradeSlotCount; i++)
            {
                ref readonly var t = ref slots[i];
                if (t.OpenSequence != 0) keys[n++] = new TradeKey((ulong)(t.Id.Value >> 64), (ulong)t.Id.Value, i);
            }
            var half = keys.Length >= ParallelSortThreshold ? keys.Length / 2 : keys.Length;
            var second = half < keys.Length ? Task.Run(() => keys.AsSpan(half).Sort(new TradeOrder())) : Task.CompletedTask;
            keys.AsSpan(0, half).Sort(new TradeOrder());
            second.GetAwaiter().GetResult();

            w.Int32(keys.Length);
            var order = new TradeOrder();
            for (int a = 0, b = half; a < half || b < keys.Length;)
            {
                var next = b == keys.Length || (a < half && order.Compare(keys[a], keys[b]) < 0) ? keys[a++] : keys[b++];
                WriteTrade(w.Take(TradeLength), in slots[next.Slot]);
            }
            w.Flush();
        }
        finally
        {
            w.Dispose();
        }
    }

    private static int CountTrades(StateImage image)
    {
        var count = 0;
        var slots = image.TradeSlots;
        for (var i = 0; i < image.TradeSlotCount; i++)
            if (slots[i].OpenSequence != 0) count++;
        return count;
    }

    /// <summary>One trade in the snapshot's layout (also the recorder's overflow file's).</summary>
    public static void WriteTrade(Span<byte> s, in TradeView t)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(s, (ulong)(t.Id.Value >> 64));
        BinaryPrimitives.WriteUInt64LittleEndian(s[8..], (ulong)t.Id.Value);
        t.Owner.Value.TryWriteBytes(s[16..]);
        BinaryPrimitives.WriteInt32LittleEndian(s[32..], t.Asset.Index);
        s[36] = (byte)t.Direction;
        BinaryPrimitives.WriteInt64LittleEndian(s[37..], t.OpenPrice.Raw);
        BinaryPrimitives.WriteInt64LittleEndian(s[45..], t.Quantity.Raw);
        BinaryPrimitives.WriteInt64LittleEndian(s[53..], t.Margin.Cents);
        BinaryPrimitives.WriteInt32LittleEndian(s[61..], t.Leverage);
        BinaryPrimitives.WriteInt64LittleEndian(s[65..], t.LiquidationPrice.Raw);
        BinaryPrimitives.WriteInt64LittleEndian(s[73..], t.StopLoss.Raw);
        BinaryPrimitives.WriteInt64LittleEndian(s[81..], t.TakeProfit.Raw);
        BinaryPrimitives.WriteInt64LittleEndian(s[89..], t.OpenSequence);
        BinaryPrimitives.WriteInt64LittleEndian(s[97..], t.OpenedAtMs);
    }

    public static TradeView ReadTrade(ReadOnlySpan<byte> s) => new(
        new TradeId(new UInt128(BinaryPrimitives.ReadUInt64LittleEndian(s), BinaryPrimitives.ReadUInt64LittleEndian(s[8..]))),
        new UserId(new Guid(s.Slice(16, 16))),
        new AssetId(BinaryPrimitives.ReadInt32LittleEndian(s[32..])),
        (Direction)s[36],
        new Price(BinaryPrimitives.ReadInt64LittleEndian(s[37..])),
        new Quantity(BinaryPrimitives.ReadInt64LittleEndian(s[45..])),
        new Usd(BinaryPrimitives.ReadInt64LittleEndian(s[53..])),
        BinaryPrimitives.ReadInt32LittleEndian(s[61..]),
        new Price(BinaryPrimitives.ReadInt64LittleEndian(s[65..])),
        new Price(BinaryPrimitives.ReadInt64LittleEndian(s[73..])),
        new Price(BinaryPrimitives.ReadInt64LittleEndian(s[81..])),
        BinaryPrimitives.ReadInt64LittleEndian(s[89..]),
        BinaryPrimitives.ReadInt64LittleEndian(s[97..]));

    /// <summary>
    /// Reads one state. The stream is read in blocks, so it may be consumed past the state's
    /// end; a truncated state is <see cref="EndOfStreamException"/>, a malformed one
    /// <see cref="InvalidDataException"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static StateImage Read(Stream input)
    {
        var r = new BlockReader(input);
        try
        {
            if (r.Int32() != Magic) throw new InvalidDataException("Not an engine state.");
            var version = r.Int32();
            if (version != FormatVersion) throw new InvalidDataException($"Unsupported engine state format {version}.");
            var lastSequence = r.Int64();
            var eventSequence = r.Int64();
            var insurance = new Usd(r.Int64());
            var house = new Usd(r.Int64());
            var deposits = new Usd(r.Int64());
            var ignored = r.Int64();

            var markets = new MarketImage[r.Count()];
            for (var i = 0; i < markets.Length; i++)
                markets[i] = new MarketImage(r.String(), new Price(r.Int64()), new Price(r.Int64()), r.Int64());

            var accounts = new AccountImage[r.Count()];
            for (var i = 0; i < accounts.Length; i++)
            {
                var s = r.Take(AccountLength);
                accounts[i] = new AccountImage(new UserId(new Guid(s[..16])),
                    new Usd(BinaryPrimitives.ReadInt64LittleEndian(s[16..])), new Usd(BinaryPrimitives.ReadInt64LittleEndian(s[24..])));
            }

            // Allocated with the room a restore wants, as TradingEngine.Restore takes this array over.
            var tradeCount = r.Count();
            var trades = new TradeView[TradingEngine.RoomToGrow(tradeCount)];
            for (var i = 0; i < tradeCount; i++) trades[i] = ReadTrade(r.Take(TradeLength));

            return new StateImage
            {
                LastSequence = lastSequence, EventSequence = eventSequence, InsuranceFund = insurance,
                HousePnl = house, TotalDeposits = deposits, IgnoredTicks = ignored, Markets = markets,
                Accounts = accounts, TradeSlots = trades, TradeSlotCount = tradeCount,
            };
        }
        finally
        {
            r.Dispose();
        }
    }

    /// <summary>SHA-256 over the canonical encoding, as lowercase hex.</summary>
    public static string Hash(StateImage image)
    {
        using var sha = new HashingStream();
        Write(image, sha);
        return Convert.ToHexStringLower(sha.Finish());
    }

    private readonly record struct TradeKey(ulong High, ulong Low, int Slot);

    /// <summary>Trade id order (as <see cref="UInt128"/> compares): high half, then low half.</summary>
    private readonly struct TradeOrder : IComparer<TradeKey>
    {
        public int Compare(TradeKey x, TradeKey y) =>
            x.High != y.High ? (x.High < y.High ? -1 : 1) : x.Low.CompareTo(y.Low);
    }

    private readonly struct AccountOrder : IComparer<AccountImage>
    {
        public int Compare(AccountImage x, AccountImage y) => x.User.CompareTo(y.User);
    }

    /// <summary>Fills a pooled 64 KiB block and hands it to the stream when full.</summary>
    private struct BlockWriter(Stream output)
    {
        private byte[] _buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        private int _used;

        public Span<byte> Take(int count)
        {
            if (_buffer.Length - _used < count)
            {
                Flush();
                if (_buffer.Length < count)
                {
                    ArrayPool<byte>.Shared.Return(_buffer);
                    _buffer = ArrayPool<byte>.Shared.Rent(count);
                }
            }
            var span = _buffer.AsSpan(_used, count);
            _used += count;
            return span;
        }

        public void Int32(int value) => BinaryPrimitives.WriteInt32LittleEndian(Take(4), value);
        public void Int64(long value) => BinaryPrimitives.WriteInt64LittleEndian(Take(8), value);

        /// <summary>As <see cref="BinaryWriter.Write(string)"/>: 7-bit encoded byte count, then UTF-8.</summary>
        public void String(string value)
        {
            var length = Encoding.UTF8.GetByteCount(value);
            var prefix = Take(5);
            var n = 0;
            var v = (uint)length;
            while (v >= 0x80)
            {
                prefix[n++] = (byte)(v | 0x80);
                v >>= 7;
            }
            prefix[n++] = (byte)v;
            _used -= 5 - n;
            Encoding.UTF8.GetBytes(value, Take(length));
        }

        public void Flush()
        {
            if (_used > 0) output.Write(_buffer, 0, _used);
            _used = 0;
        }

        public void Dispose()
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }

    /// <summary>Reads the stream a block at a time (partial reads included) and hands out exact slices.</summary>
    private struct BlockReader(Stream input)
    {
        private byte[] _buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        private int _start;
        private int _end;

        public ReadOnlySpan<byte> Take(int count)
        {
            if (_end - _start < count) Fill(count);
            var span = _buffer.AsSpan(_start, count);
            _start += count;
            return span;
        }

        private void Fill(int count)
        {
            var held = _end - _start;
            if (_buffer.Length < count)
            {
                var grown = ArrayPool<byte>.Shared.Rent(count);
                _buffer.AsSpan(_start, held).CopyTo(grown);
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = grown;
            }
            else
            {
                _buffer.AsSpan(_start, held).CopyTo(_buffer);
            }
            _start = 0;
            _end = held;
            while (_end < count)
            {
                var read = input.Read(_buffer, _end, _buffer.Length - _end);
                if (read == 0) throw new EndOfStreamException("The engine state is cut short.");
                _end += read;
            }
        }

        public int Int32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));
        public long Int64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));

        public int Count()
        {
            var n = Int32();
            if (n < 0) throw new InvalidDataException("Negative count in engine state.");
            return n;
        }

        /// <summary>As <see cref="BinaryReader.ReadString"/>.</summary>
        public string String()
        {
            var length = 0;
            for (var shift = 0; ; shift += 7)
            {
                if (shift > 28) throw new InvalidDataException("Bad string length in engine state.");
                var b = Take(1)[0];
                length |= (b & 0x7F) << shift;
                if (b < 0x80) break;
            }
            if (length < 0) throw new InvalidDataException("Bad string length in engine state.");
            return Encoding.UTF8.GetString(Take(length));
        }

        public void Dispose()
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }

    /// <summary>A write-only stream that feeds SHA-256, so hashing never buffers the whole state.</summary>
    private sealed class HashingStream : Stream
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        public byte[] Finish() => _hash.GetHashAndReset();

        public override void Write(byte[] buffer, int offset, int count) => _hash.AppendData(buffer, offset, count);
        public override void Write(ReadOnlySpan<byte> buffer) => _hash.AppendData(buffer);
        public override void WriteByte(byte value) => _hash.AppendData([value]);
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) _hash.Dispose();
            base.Dispose(disposing);
        }
    }
}
