using System.Buffers;
using CsCheck;
using Exchange.Engine;

namespace Exchange.Journal.Tests;

public class InputCodecTests
{
    private static readonly UserId Alice = new(Guid.Parse("0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"));
    private static readonly Guid Order = Guid.Parse("11223344-5566-7788-99aa-bbccddeeff00");
    private static readonly TradeId Trade = new(new UInt128(0x0123456789abcdef, 0xfedcba9876543210));

    public static TheoryData<decimal> Decimals =>
    [
        0m, 2.5m, 2.50m, 100.001m, 1e20m, -1e20m, -0.01m, -123456.789m, 5000m, 0.00000001m,
        decimal.MaxValue, decimal.MinValue, 0.0000000000000000000000000001m, 79228162514264337593543950.335m,
        new decimal(0, 0, 0, isNegative: true, scale: 3),
    ];

    [Theory]
    [MemberData(nameof(Decimals))]
    public void Create_trade_round_trips_every_decimal_bit_for_bit(decimal value)
    {
        var input = EngineInput.CreateTrade(7, 1_700_000_000_123, Alice, Trade, "BTCUSD", Direction.Short,
            value, value, value, value, Order);
        var decoded = RoundTrip(input);
        AssertSame(input, decoded);
        Assert.Equal(decimal.GetBits(value), decimal.GetBits(decoded.Margin));
        Assert.Equal(decimal.GetBits(value), decimal.GetBits(decoded.StopLossPrice!.Value));
    }

    [Fact]
    public void Missing_stop_loss_and_take_profit_stay_missing()
    {
        var input = EngineInput.CreateTrade(8, 1, Alice, Trade, "ETHUSD", Direction.Long, 100m, 10m, null, 2.5m);
        var decoded = RoundTrip(input);
        Assert.Null(decoded.StopLossPrice);
        Assert.Equal(2.5m, decoded.TakeProfitPrice);
        AssertSame(input, decoded);
    }

    [Fact]
    public void Every_input_kind_round_trips()
    {
        EngineInput[] inputs =
        [
            EngineInput.CreateAccount(1, 10, Alice, Order),
            EngineInput.CloseTrade(2, 20, Alice, Trade, Order),
            EngineInput.Tick(3, 30, new AssetId(2), new Price(6_500_012_345_678), new Price(6_500_112_345_678)),
            EngineInput.Query(InputKind.GetBalance, 40, Alice, Order) with { Sequence = 4 },
            EngineInput.Query(InputKind.GetUsdBalance, 50, Alice, Order),
            EngineInput.Query(InputKind.GetOpenTrades, 60, Alice, Order),
            EngineInput.CreateTrade(5, 70, Alice, Trade, null!, Direction.Long, 1m, 1m),
            EngineInput.CreateTrade(6, 80, Alice, Trade, "", Direction.Long, 1m, 1m),
            EngineInput.CreateTrade(7, 90, Alice, Trade, "ÄPFEL€", (Direction)99, 1m, 1m),
            EngineInput.CreateAccount(8, 100, Alice, Order) with { IdempotencyKey = "signup-1" },
            EngineInput.CreateTrade(9, 110, Alice, Trade, "BTC", Direction.Short, 1m, 1m, orderId: Order) with { IdempotencyKey = "" },
            EngineInput.CloseTrade(10, 120, Alice, Trade, Order) with { IdempotencyKey = new string('k', InputCodec.MaxSymbolBytes) },
        ];
        foreach (var input in inputs) AssertSame(input, RoundTrip(input));
    }

    [Fact]
    public void Random_inputs_round_trip()
    {
        var decimals = Gen.Select(Gen.Int, Gen.Int, Gen.Int, Gen.Bool, Gen.Byte[0, 28], (lo, mid, hi, neg, scale) => new decimal(lo, mid, hi, neg, scale));
        var inputs = Gen.Select(Gen.Long[1, long.MaxValue], Gen.Long, Gen.Guid, Gen.Guid, Gen.ULong, Gen.ULong, decimals, decimals,
            (seq, ts, user, order, hi, lo, margin, leverage) =>
                EngineInput.CreateTrade(seq, ts, new UserId(user), new TradeId(new UInt128(hi, lo)),
                    "SYM" + (seq % 1000), seq % 2 == 0 ? Direction.Long : Direction.Short,
                    margin, leverage, seq % 3 == 0 ? null : margin, seq % 5 == 0 ? null : leverage, order)
                with
                { IdempotencyKey = seq % 7 == 0 ? null : $"key-{seq}-ü" });
        inputs.Sample(input => AssertSame(input, RoundTrip(input)), iter: 2000);
    }

    [Fact]
    public void Buffer_writer_and_span_give_the_same_bytes()
    {
        var input = EngineInput.CreateTrade(9, 99, Alice, Trade, "BTCUSD", Direction.Long, 250m, 20m, 60000m, 70000m, Order);
        var writer = new ArrayBufferWriter<byte>();
        InputCodec.Encode(input, writer);
        Span<byte> span = stackalloc byte[InputCodec.MaxEncodedLength];
        var length = InputCodec.Encode(input, span);
        Assert.Equal(span[..length].ToArray(), writer.WrittenSpan.ToArray());
    }

    // These bytes are the on-disk format of version 3: if this test fails, old journals no
    // longer replay. Change the format only under a new version byte.
    [Fact]
    public void Format_version_3_bytes_are_frozen()
    {
        var trade = EngineInput.CreateTrade(42, 1_700_000_000_123, Alice, Trade, "BTCUSD", Direction.Short,
            250.5m, 20m, 70000.01m, null, Order) with
        { IdempotencyKey = "k-1" };
        Assert.Equal(string.Concat(
                "03", "04", "2a00000000000000", "7b68e5cf8b010000",   // version, kind, sequence, timestamp
                "443322116655887799aabbccddeeff00",                   // order id (Guid byte order)
                "3d2c1b0a5f4e71608293a4b5c6d7e8f9",                   // user
                "1032547698badcfe", "efcdab8967452301",               // trade id: low, high
                "07", "425443555344", "02",                           // "BTCUSD", Short
                "01" + "02" + "c909",                                 // margin 250.5 = 2505 at scale 1
                "00" + "01" + "14",                                   // leverage 20
                "02" + "03" + "c1cf6a",                               // stop-loss 70000.01
                "ff",                                                 // no take-profit
                "04", "6b2d31"),                                      // key "k-1"
            Hex(Encode(trade)));

        var close = EngineInput.CloseTrade(44, 1_700_000_000_125, Alice, Trade, Order);
        Assert.Equal(string.Concat(
                "03", "05", "2c00000000000000", "7d68e5cf8b010000",
                "443322116655887799aabbccddeeff00", "3d2c1b0a5f4e71608293a4b5c6d7e8f9",
                "1032547698badcfe", "efcdab8967452301",
                "00"),                                                // no key
            Hex(Encode(close)));

        var tick = EngineInput.Tick(43, 1_700_000_000_124, new AssetId(3), new Price(6_500_012_345_678), new Price(6_500_112_345_678));
        Assert.Equal(string.Concat(
                "03", "14", "2b00000000000000", "7c68e5cf8b010000",
                "03000000", "4e49ed66e9050000", "4e2ae36ce9050000"),  // asset, bid, ask
            Hex(Encode(tick)));
    }

    // Journals written before the stop-loss band (version 2, the layout of version 3) must replay
    // forever, their trades checked as they were taken.
    [Fact]
    public void Format_version_2_records_decode_with_the_stop_loss_checked_against_the_open_price()
    {
        var trade = InputCodec.Decode(Convert.FromHexString(string.Concat(
            "02", "04", "2a00000000000000", "7b68e5cf8b010000",
            "443322116655887799aabbccddeeff00", "3d2c1b0a5f4e71608293a4b5c6d7e8f9",
            "1032547698badcfe", "efcdab8967452301",
            "07", "425443555344", "02", "01" + "02" + "c909", "00" + "01" + "14", "02" + "03" + "c1cf6a", "ff", "04", "6b2d31")));
        AssertSame(EngineInput.CreateTrade(42, 1_700_000_000_123, Alice, Trade, "BTCUSD", Direction.Short,
            250.5m, 20m, 70000.01m, null, Order) with
        { IdempotencyKey = "k-1", StopLossCheckedAgainstOpenPrice = true }, trade);
        Assert.False(InputCodec.Decode(Encode(trade with { StopLossCheckedAgainstOpenPrice = false })).StopLossCheckedAgainstOpenPrice);
        Assert.Throws<ArgumentException>(() => InputCodec.ThrowIfUnencodable(trade)); // submitted again, it would replay under the new check

        var close = InputCodec.Decode(Convert.FromHexString(string.Concat(
            "02", "05", "2c00000000000000", "7d68e5cf8b010000",
            "443322116655887799aabbccddeeff00", "3d2c1b0a5f4e71608293a4b5c6d7e8f9",
            "1032547698badcfe", "efcdab8967452301", "00")));
        AssertSame(EngineInput.CloseTrade(44, 1_700_000_000_125, Alice, Trade, Order), close);
    }

    // Journals written before the keys (version 1) must replay forever.
    [Fact]
    public void Format_version_1_records_still_decode_without_keys()
    {
        var trade = InputCodec.Decode(Convert.FromHexString(string.Concat(
            "01", "04", "2a00000000000000", "7b68e5cf8b010000",
            "443322116655887799aabbccddeeff00", "3d2c1b0a5f4e71608293a4b5c6d7e8f9",
            "1032547698badcfe", "efcdab8967452301",
            "07", "425443555344", "02", "01" + "02" + "c909", "00" + "01" + "14", "02" + "03" + "c1cf6a", "ff")));
        AssertSame(EngineInput.CreateTrade(42, 1_700_000_000_123, Alice, Trade, "BTCUSD", Direction.Short,
            250.5m, 20m, 70000.01m, null, Order) with
        { StopLossCheckedAgainstOpenPrice = true }, trade);

        var account = InputCodec.Decode(Convert.FromHexString(string.Concat(
            "01", "01", "0100000000000000", "0a00000000000000",
            "443322116655887799aabbccddeeff00", "3d2c1b0a5f4e71608293a4b5c6d7e8f9")));
        AssertSame(EngineInput.CreateAccount(1, 10, Alice, Order), account);

        var tick = InputCodec.Decode(Convert.FromHexString(string.Concat(
            "01", "14", "2b00000000000000", "7c68e5cf8b010000", "03000000", "4e49ed66e9050000", "4e2ae36ce9050000")));
        AssertSame(EngineInput.Tick(43, 1_700_000_000_124, new AssetId(3), new Price(6_500_012_345_678), new Price(6_500_112_345_678)), tick);
    }

    [Fact]
    public void A_key_the_record_cannot_hold_is_refused_before_encoding()
    {
        var input = EngineInput.CloseTrade(1, 1, Alice, Trade, Order) with { IdempotencyKey = new string('k', InputCodec.MaxSymbolBytes + 1) };
        Assert.Throws<ArgumentException>(() => InputCodec.ThrowIfUnencodable(input));
        Assert.Throws<ArgumentException>(() => Encode(input));
    }

    [Fact]
    public void Unknown_format_version_is_invalid_data()
    {
        var bytes = Encode(EngineInput.CreateAccount(1, 1, Alice));
        bytes[0] = 4;
        Assert.Throws<InvalidDataException>(() => InputCodec.Decode(bytes));
    }

    [Fact]
    public void Truncated_or_padded_payload_is_invalid_data()
    {
        var bytes = Encode(EngineInput.CreateTrade(1, 1, Alice, Trade, "BTCUSD", Direction.Long, 1.5m, 2m, 1m, 3m));
        for (var length = 0; length < bytes.Length; length++)
        {
            var cut = bytes[..length];
            Assert.Throws<InvalidDataException>(() => InputCodec.Decode(cut));
        }
        Assert.Throws<InvalidDataException>(() => InputCodec.Decode([.. bytes, 0]));
    }

    [Fact]
    public void Symbol_that_is_not_utf8_is_invalid_data()
    {
        var bytes = Encode(EngineInput.CreateTrade(1, 1, Alice, Trade, "BTC", Direction.Long, 1m, 1m));
        var symbolAt = 1 + 1 + 8 + 8 + 16 + 16 + 16 + 1;
        bytes[symbolAt] = 0xFF;
        Assert.Throws<InvalidDataException>(() => InputCodec.Decode(bytes));
    }

    [Fact]
    public void Key_that_is_not_utf8_is_invalid_data()
    {
        var bytes = Encode(EngineInput.CloseTrade(1, 1, Alice, Trade, Order) with { IdempotencyKey = "abc" });
        bytes[^1] = 0xFF;
        Assert.Throws<InvalidDataException>(() => InputCodec.Decode(bytes));
    }

    [Fact]
    public void Unknown_kind_is_invalid_data_and_cannot_be_encoded()
    {
        var bytes = Encode(EngineInput.CreateAccount(1, 1, Alice));
        bytes[1] = 77;
        Assert.Throws<InvalidDataException>(() => InputCodec.Decode(bytes));
        Assert.Throws<ArgumentException>(() => Encode(new EngineInput { Kind = (InputKind)77 }));
    }

    private static byte[] Encode(in EngineInput input)
    {
        var buffer = new byte[InputCodec.MaxEncodedLength];
        return buffer[..InputCodec.Encode(input, buffer)];
    }

    private static EngineInput RoundTrip(in EngineInput input) => InputCodec.Decode(Encode(input));

    private static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);

    private static void AssertSame(EngineInput expected, EngineInput actual)
    {
        Assert.Equal(expected.Kind, actual.Kind);
        Assert.Equal(expected.Sequence, actual.Sequence);
        Assert.Equal(expected.TimestampMs, actual.TimestampMs);
        Assert.Equal(expected.OrderId, actual.OrderId);
        Assert.Equal(expected.User, actual.User);
        Assert.Equal(expected.IdempotencyKey, actual.IdempotencyKey);
        if (expected.Kind is InputKind.PriceTick)
        {
            Assert.Equal(expected.Asset, actual.Asset);
            Assert.Equal(expected.Bid, actual.Bid);
            Assert.Equal(expected.Ask, actual.Ask);
            return;
        }
        if (expected.Kind is not (InputKind.CreateTrade or InputKind.CloseTrade)) return;
        Assert.Equal(expected.TradeId, actual.TradeId);
        if (expected.Kind is InputKind.CloseTrade) return;
        Assert.Equal(expected.StopLossCheckedAgainstOpenPrice, actual.StopLossCheckedAgainstOpenPrice);
        Assert.Equal(expected.Symbol, actual.Symbol);
        Assert.Equal(expected.Direction, actual.Direction);
        AssertBits(expected.Margin, actual.Margin);
        AssertBits(expected.Leverage, actual.Leverage);
        Assert.Equal(expected.StopLossPrice.HasValue, actual.StopLossPrice.HasValue);
        Assert.Equal(expected.TakeProfitPrice.HasValue, actual.TakeProfitPrice.HasValue);
        if (expected.StopLossPrice is { } sl) AssertBits(sl, actual.StopLossPrice!.Value);
        if (expected.TakeProfitPrice is { } tp) AssertBits(tp, actual.TakeProfitPrice!.Value);
    }

    private static void AssertBits(decimal expected, decimal actual) =>
        Assert.Equal(decimal.GetBits(expected), decimal.GetBits(actual));
}
