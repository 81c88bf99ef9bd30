using System.Security.Cryptography;

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
/// </summary>
public static class StateCodec
{
    private const int Magic = 0x54535845; // "EXST"
    public const int FormatVersion = 1;

    public static void Write(StateImage image, Stream output)
    {
        using var w = new BinaryWriter(output, System.Text.Encoding.UTF8, leaveOpen: true);
        w.Write(Magic);
        w.Write(FormatVersion);
        w.Write(image.LastSequence);
        w.Write(image.EventSequence);
        w.Write(image.InsuranceFund.Cents);
        w.Write(image.HousePnl.Cents);
        w.Write(image.TotalDeposits.Cents);
        w.Write(image.IgnoredTicks);

        w.Write(image.Markets.Length);
        foreach (var m in image.Markets)
        {
            w.Write(m.Symbol);
            w.Write(m.Bid.Raw);
            w.Write(m.Ask.Raw);
            w.Write(m.PriceTimestampMs);
        }

        var accounts = (AccountImage[])image.Accounts.Clone();
        Array.Sort(accounts, static (a, b) => a.User.CompareTo(b.User));
        w.Write(accounts.Length);
        Span<byte> guid = stackalloc byte[16];
        foreach (var a in accounts)
        {
            WriteGuid(w, a.User.Value, guid);
            w.Write(a.Free.Cents);
            w.Write(a.Locked.Cents);
        }

        var trades = image.Trades().ToArray();
        Array.Sort(trades, static (a, b) => a.Id.CompareTo(b.Id));
        w.Write(trades.Length);
        foreach (var t in trades)
        {
            w.Write((ulong)(t.Id.Value >> 64));
            w.Write((ulong)t.Id.Value);
            WriteGuid(w, t.Owner.Value, guid);
            w.Write(t.Asset.Index);
            w.Write((byte)t.Direction);
            w.Write(t.OpenPrice.Raw);
            w.Write(t.Quantity.Raw);
            w.Write(t.Margin.Cents);
            w.Write(t.Leverage);
            w.Write(t.LiquidationPrice.Raw);
            w.Write(t.StopLoss.Raw);
            w.Write(t.TakeProfit.Raw);
            w.Write(t.OpenSequence);
            w.Write(t.OpenedAtMs);
        }
    }

    public static StateImage Read(Stream input)
    {
        using var r = new BinaryReader(input, System.Text.Encoding.UTF8, leaveOpen: true);
        if (r.ReadInt32() != Magic) throw new InvalidDataException("Not an engine state.");
        var version = r.ReadInt32();
        if (version != FormatVersion) throw new InvalidDataException($"Unsupported engine state format {version}.");
        var lastSequence = r.ReadInt64();
        var eventSequence = r.ReadInt64();
        var insurance = new Usd(r.ReadInt64());
        var house = new Usd(r.ReadInt64());
        var deposits = new Usd(r.ReadInt64());
        var ignored = r.ReadInt64();

        var markets = new MarketImage[ReadCount(r)];
        for (var i = 0; i < markets.Length; i++)
            markets[i] = new MarketImage(r.ReadString(), new Price(r.ReadInt64()), new Price(r.ReadInt64()), r.ReadInt64());

        var accounts = new AccountImage[ReadCount(r)];
        Span<byte> guid = stackalloc byte[16];
        for (var i = 0; i < accounts.Length; i++)
            accounts[i] = new AccountImage(new UserId(ReadGuid(r, guid)), new Usd(r.ReadInt64()), new Usd(r.ReadInt64()));

        var trades = new TradeView[ReadCount(r)];
        for (var i = 0; i < trades.Length; i++)
        {
            var high = r.ReadUInt64();
            var low = r.ReadUInt64();
            trades[i] = new TradeView(
                new TradeId(new UInt128(high, low)), new UserId(ReadGuid(r, guid)), new AssetId(r.ReadInt32()),
                (Direction)r.ReadByte(), new Price(r.ReadInt64()), new Quantity(r.ReadInt64()), new Usd(r.ReadInt64()),
                r.ReadInt32(), new Price(r.ReadInt64()), new Price(r.ReadInt64()), new Price(r.ReadInt64()),
                r.ReadInt64(), r.ReadInt64());
        }

        return new StateImage
        {
            LastSequence = lastSequence, EventSequence = eventSequence, InsuranceFund = insurance,
            HousePnl = house, TotalDeposits = deposits, IgnoredTicks = ignored, Markets = markets,
            Accounts = accounts, TradeSlots = trades, TradeSlotCount = trades.Length,
        };
    }

    /// <summary>SHA-256 over the canonical encoding, as lowercase hex.</summary>
    public static string Hash(StateImage image)
    {
        using var sha = new HashingStream();
        Write(image, sha);
        return Convert.ToHexStringLower(sha.Finish());
    }

    private static int ReadCount(BinaryReader r)
    {
        var n = r.ReadInt32();
        if (n < 0) throw new InvalidDataException("Negative count in engine state.");
        return n;
    }

    private static void WriteGuid(BinaryWriter w, Guid value, Span<byte> buffer)
    {
        value.TryWriteBytes(buffer);
        w.Write(buffer);
    }

    private static Guid ReadGuid(BinaryReader r, Span<byte> buffer)
    {
        if (r.Read(buffer) != 16) throw new EndOfStreamException();
        return new Guid(buffer);
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
