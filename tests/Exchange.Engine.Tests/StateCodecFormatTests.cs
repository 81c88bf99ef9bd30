using CsCheck;

namespace Exchange.Engine.Tests;

/// <summary>
/// The state encoding is frozen (snapshots on disk and every state hash depend on it):
/// <see cref="StateCodec"/> must write exactly the bytes of the original BinaryWriter
/// implementation, kept below as the reference, and read them back, for random states.
/// </summary>
public sealed class StateCodecFormatTests
{
    [Fact]
    public void Encoding_is_byte_for_byte_the_original_format() =>
        Gen.Select(WorkloadGenerator.Workload(), Gen.Int[0, 1_000]).Sample((ops, cutPerMille) =>
        {
            var inputs = Workload.Build(ops).Inputs;
            var engine = new TradingEngine(WorkloadRunner.Config);
            WorkloadRunner.Run(engine, inputs, 0, inputs.Count * cutPerMille / 1_000);
            var image = engine.CaptureImage();

            var original = OriginalCodec.Encode(image);
            using var stream = new MemoryStream();
            StateCodec.Write(image, stream);
            Assert.Equal(original, stream.ToArray());
            Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(original)), StateCodec.Hash(image));

            var decoded = StateCodec.Read(new MemoryStream(original));
            Assert.Equal(original, OriginalCodec.Encode(decoded));
            Assert.Equal(original, OriginalCodec.Encode(OriginalCodec.Decode(original)));
        }, iter: 100);

    [Fact]
    public void Large_states_encode_the_same_and_round_trip_through_a_stream_that_returns_short_reads()
    {
        var random = new Random(5);
        var accounts = new AccountImage[3_000];
        for (var i = 0; i < accounts.Length; i++)
            accounts[i] = new AccountImage(new UserId(Guid.NewGuid()), new Usd(random.NextInt64(1_000_000)), new Usd(random.Next(1000)));
        var trades = new TradeView[90_000]; // above the size sorted in two halves
        for (var i = 0; i < trades.Length; i++)
        {
            trades[i] = i % 7 == 3 ? default : new TradeView(
                new TradeId(new UInt128((ulong)random.NextInt64(), (ulong)random.NextInt64())), accounts[i % accounts.Length].User,
                new AssetId(i % 3), i % 2 == 0 ? Direction.Long : Direction.Short, new Price(random.NextInt64(1, long.MaxValue)),
                new Quantity(random.NextInt64()), new Usd(random.NextInt64()), random.Next(1, 101), new Price(random.NextInt64()),
                new Price(random.NextInt64()), new Price(random.NextInt64()), random.NextInt64(1, long.MaxValue), random.NextInt64());
        }
        var image = new StateImage
        {
            LastSequence = 123_456, EventSequence = 654_321, InsuranceFund = new Usd(-5), HousePnl = new Usd(77), TotalDeposits = new Usd(1 << 40),
            IgnoredTicks = 3,
            Markets = [new MarketImage("BTC_USDC", new Price(6), new Price(7), 8), new MarketImage(new string('é', 300), new Price(1), new Price(2), 3)],
            Accounts = accounts, TradeSlots = trades, TradeSlotCount = trades.Length - 5,
        };

        var original = OriginalCodec.Encode(image);
        using var written = new MemoryStream();
        StateCodec.Write(image, written);
        Assert.Equal(original, written.ToArray());
        var decoded = StateCodec.Read(new TricklingStream(original));
        Assert.Equal(original, OriginalCodec.Encode(decoded));
        Assert.Throws<EndOfStreamException>(() => StateCodec.Read(new TricklingStream(original[..^1])));
    }

    /// <summary>Hands out at most 7 bytes per read, as a decompressor may at block boundaries.</summary>
    private sealed class TricklingStream(byte[] data) : MemoryStream(data)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, 7));
        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, 7)]);
    }

    /// <summary>The original implementation (BinaryWriter / BinaryReader), frozen as the reference.</summary>
    private static class OriginalCodec
    {
        private const int Magic = 0x54535845;

        public static byte[] Encode(StateImage image)
        {
            using var output = new MemoryStream();
            using (var w = new BinaryWriter(output, System.Text.Encoding.UTF8, leaveOpen: true))
            {
                w.Write(Magic);
                w.Write(1);
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
                foreach (var a in accounts)
                {
                    w.Write(a.User.Value.ToByteArray());
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
                    w.Write(t.Owner.Value.ToByteArray());
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
            return output.ToArray();
        }

        public static StateImage Decode(byte[] bytes)
        {
            using var r = new BinaryReader(new MemoryStream(bytes));
            Assert.Equal(Magic, r.ReadInt32());
            Assert.Equal(1, r.ReadInt32());
            var lastSequence = r.ReadInt64();
            var eventSequence = r.ReadInt64();
            var insurance = new Usd(r.ReadInt64());
            var house = new Usd(r.ReadInt64());
            var deposits = new Usd(r.ReadInt64());
            var ignored = r.ReadInt64();
            var markets = new MarketImage[r.ReadInt32()];
            for (var i = 0; i < markets.Length; i++)
                markets[i] = new MarketImage(r.ReadString(), new Price(r.ReadInt64()), new Price(r.ReadInt64()), r.ReadInt64());
            var accounts = new AccountImage[r.ReadInt32()];
            for (var i = 0; i < accounts.Length; i++)
                accounts[i] = new AccountImage(new UserId(new Guid(r.ReadBytes(16))), new Usd(r.ReadInt64()), new Usd(r.ReadInt64()));
            var trades = new TradeView[r.ReadInt32()];
            for (var i = 0; i < trades.Length; i++)
            {
                var high = r.ReadUInt64();
                var low = r.ReadUInt64();
                trades[i] = new TradeView(
                    new TradeId(new UInt128(high, low)), new UserId(new Guid(r.ReadBytes(16))), new AssetId(r.ReadInt32()),
                    (Direction)r.ReadByte(), new Price(r.ReadInt64()), new Quantity(r.ReadInt64()), new Usd(r.ReadInt64()),
                    r.ReadInt32(), new Price(r.ReadInt64()), new Price(r.ReadInt64()), new Price(r.ReadInt64()),
                    r.ReadInt64(), r.ReadInt64());
            }
            return new StateImage
            {
                LastSequence = lastSequence, EventSequence = eventSequence, InsuranceFund = insurance, HousePnl = house,
                TotalDeposits = deposits, IgnoredTicks = ignored, Markets = markets, Accounts = accounts,
                TradeSlots = trades, TradeSlotCount = trades.Length,
            };
        }
    }
}
