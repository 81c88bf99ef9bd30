using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Exchange.Engine;

namespace Exchange.Data;

/// <summary>
/// How a recorder item is kept in the overflow file. Little-endian:
/// <code>
/// u8 version | u8 kind | kind fields
///   AccountCreated: header user(16) initialBalance(i64 cents)
///   TradeOpened:    header trade(StateCodec.TradeLength)
///   TradeClosed:    header trade reason(u8) closePrice pnl payout insuranceFundChange (i64 each)
///   BalanceChanged: header user free locked
///   Order:          orderId userId (16 each) latencyMicros (long.MinValue = none) sequence createdAtMs (i64 each),
///                   then command payloadJson status code message responseJson idempotencyKey
///   FlushMarker:    nothing (the waiting task stays in memory)
///   MemoryFollows:  nothing
/// header = eventSequence inputSequence timestampMs (i64 each) orderId(16)
/// string = i32 UTF-8 length (-1 = null), then the bytes
/// </code>
/// A file outlives only a restart of the same build, but an upgrade may find one: a record of
/// another version is skipped (its events are re-created by recovery anyway).
/// </summary>
internal static class RecorderItemCodec
{
    public const byte Version = 1;
    private const long NoLatency = long.MinValue; // added within version 1: no file before it holds this value

    public enum Kind : byte
    {
        AccountCreated = 1,
        TradeOpened = 2,
        TradeClosed = 3,
        BalanceChanged = 4,
        Order = 5,
        FlushMarker = 6,
        MemoryFollows = 7,
    }

    private const int HeaderLength = 8 + 8 + 8 + 16;

    public static void Encode(object item, ArrayBufferWriter<byte> output)
    {
        switch (item)
        {
            case AccountCreated a:
                {
                    var s = Start(output, Kind.AccountCreated, HeaderLength + 16 + 8, a.Header);
                    a.User.Value.TryWriteBytes(s);
                    BinaryPrimitives.WriteInt64LittleEndian(s[16..], a.InitialBalance.Cents);
                    break;
                }
            case TradeOpened o:
                StateCodec.WriteTrade(Start(output, Kind.TradeOpened, HeaderLength + StateCodec.TradeLength, o.Header), o.Trade);
                break;
            case TradeClosed c:
                {
                    var s = Start(output, Kind.TradeClosed, HeaderLength + StateCodec.TradeLength + 1 + 4 * 8, c.Header);
                    StateCodec.WriteTrade(s, c.Trade);
                    s = s[StateCodec.TradeLength..];
                    s[0] = (byte)c.Reason;
                    BinaryPrimitives.WriteInt64LittleEndian(s[1..], c.ClosePrice.Raw);
                    BinaryPrimitives.WriteInt64LittleEndian(s[9..], c.Pnl.Cents);
                    BinaryPrimitives.WriteInt64LittleEndian(s[17..], c.Payout.Cents);
                    BinaryPrimitives.WriteInt64LittleEndian(s[25..], c.InsuranceFundChange.Cents);
                    break;
                }
            case BalanceChanged b:
                {
                    var s = Start(output, Kind.BalanceChanged, HeaderLength + 16 + 8 + 8, b.Header);
                    b.User.Value.TryWriteBytes(s);
                    BinaryPrimitives.WriteInt64LittleEndian(s[16..], b.Free.Cents);
                    BinaryPrimitives.WriteInt64LittleEndian(s[24..], b.Locked.Cents);
                    break;
                }
            case OrderRecord r:
                EncodeOrder(r, output);
                break;
            case AnsweredOrder a:
                EncodeOrder(a.Row(), output);
                break;
            case FlushMarker:
                Start(output, Kind.FlushMarker, 0);
                break;
            case MemoryFollows:
                Start(output, Kind.MemoryFollows, 0);
                break;
            default:
                throw new ArgumentException($"The recorder does not keep a {item.GetType().Name}.", nameof(item));
        }
    }

    /// <summary>The item, or null for a record of another version; a flush marker and <see cref="MemoryFollows"/> come back as their kind alone.</summary>
    public static (Kind Kind, object? Item) Decode(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < 2 || payload[0] != Version) return (default, null);
        var kind = (Kind)payload[1];
        var s = payload[2..];
        switch (kind)
        {
            case Kind.AccountCreated:
                return (kind, new AccountCreated(ReadHeader(s), new UserId(new Guid(s.Slice(HeaderLength, 16))),
                    new Usd(BinaryPrimitives.ReadInt64LittleEndian(s[(HeaderLength + 16)..]))));
            case Kind.TradeOpened:
                return (kind, new TradeOpened(ReadHeader(s), StateCodec.ReadTrade(s[HeaderLength..])));
            case Kind.TradeClosed:
                {
                    var rest = s[(HeaderLength + StateCodec.TradeLength)..];
                    return (kind, new TradeClosed(ReadHeader(s), StateCodec.ReadTrade(s[HeaderLength..]), (CloseReason)rest[0],
                        new Price(BinaryPrimitives.ReadInt64LittleEndian(rest[1..])),
                        new Usd(BinaryPrimitives.ReadInt64LittleEndian(rest[9..])),
                        new Usd(BinaryPrimitives.ReadInt64LittleEndian(rest[17..])),
                        new Usd(BinaryPrimitives.ReadInt64LittleEndian(rest[25..]))));
                }
            case Kind.BalanceChanged:
                return (kind, new BalanceChanged(ReadHeader(s), new UserId(new Guid(s.Slice(HeaderLength, 16))),
                    new Usd(BinaryPrimitives.ReadInt64LittleEndian(s[(HeaderLength + 16)..])),
                    new Usd(BinaryPrimitives.ReadInt64LittleEndian(s[(HeaderLength + 24)..]))));
            case Kind.Order:
                return (kind, DecodeOrder(s));
            case Kind.FlushMarker or Kind.MemoryFollows:
                return (kind, null);
            default:
                throw new InvalidDataException($"Unknown recorder item kind {(byte)kind}.");
        }
    }

    /// <summary>The input an item came from (an event's or an order's input sequence); 0 for a marker or a record of another version.</summary>
    public static long InputSequenceOf(ReadOnlySpan<byte> payload) =>
        payload.Length < 2 || payload[0] != Version ? 0 : (Kind)payload[1] switch
        {
            Kind.AccountCreated or Kind.TradeOpened or Kind.TradeClosed or Kind.BalanceChanged => BinaryPrimitives.ReadInt64LittleEndian(payload[(2 + 8)..]),
            Kind.Order => BinaryPrimitives.ReadInt64LittleEndian(payload[(2 + 40)..]),
            _ => 0,
        };

    /// <summary>Writes version, kind and (for an event) its header; returns the room for the rest.</summary>
    private static Span<byte> Start(ArrayBufferWriter<byte> output, Kind kind, int length, EventHeader? header = null)
    {
        var s = output.GetSpan(2 + length)[..(2 + length)];
        s[0] = Version;
        s[1] = (byte)kind;
        output.Advance(2 + length);
        s = s[2..];
        if (header is not { } h) return s;
        BinaryPrimitives.WriteInt64LittleEndian(s, h.EventSequence);
        BinaryPrimitives.WriteInt64LittleEndian(s[8..], h.InputSequence);
        BinaryPrimitives.WriteInt64LittleEndian(s[16..], h.TimestampMs);
        h.OrderId.TryWriteBytes(s[24..]);
        return s[HeaderLength..];
    }

    private static EventHeader ReadHeader(ReadOnlySpan<byte> s) => new(
        BinaryPrimitives.ReadInt64LittleEndian(s), BinaryPrimitives.ReadInt64LittleEndian(s[8..]),
        BinaryPrimitives.ReadInt64LittleEndian(s[16..]), new Guid(s.Slice(24, 16)));

    private static void EncodeOrder(OrderRecord r, ArrayBufferWriter<byte> output)
    {
        var s = Start(output, Kind.Order, 16 + 16 + 3 * 8);
        r.OrderId.TryWriteBytes(s);
        r.UserId.TryWriteBytes(s[16..]);
        BinaryPrimitives.WriteInt64LittleEndian(s[32..], r.LatencyMicros ?? NoLatency);
        BinaryPrimitives.WriteInt64LittleEndian(s[40..], r.Sequence);
        BinaryPrimitives.WriteInt64LittleEndian(s[48..], r.CreatedAtMs);
        foreach (var text in (ReadOnlySpan<string?>)[r.Command, r.PayloadJson, r.Status, r.Code, r.Message, r.ResponseJson, r.IdempotencyKey])
            WriteString(text, output);
    }

    private static OrderRecord DecodeOrder(ReadOnlySpan<byte> s)
    {
        var orderId = new Guid(s[..16]);
        var userId = new Guid(s.Slice(16, 16));
        var latency = BinaryPrimitives.ReadInt64LittleEndian(s[32..]) is var micros and not NoLatency ? micros : (long?)null;
        var sequence = BinaryPrimitives.ReadInt64LittleEndian(s[40..]);
        var createdAt = BinaryPrimitives.ReadInt64LittleEndian(s[48..]);
        var rest = s[56..];
        return new OrderRecord(orderId, userId, ReadString(ref rest)!, ReadString(ref rest)!, ReadString(ref rest)!,
            ReadString(ref rest)!, ReadString(ref rest), ReadString(ref rest), latency, sequence, createdAt, ReadString(ref rest));
    }

    private static void WriteString(string? text, ArrayBufferWriter<byte> output)
    {
        var length = text is null ? -1 : Encoding.UTF8.GetByteCount(text);
        var s = output.GetSpan(4 + Math.Max(0, length));
        BinaryPrimitives.WriteInt32LittleEndian(s, length);
        if (text is not null) Encoding.UTF8.GetBytes(text, s[4..]);
        output.Advance(4 + Math.Max(0, length));
    }

    private static string? ReadString(ref ReadOnlySpan<byte> s)
    {
        var length = BinaryPrimitives.ReadInt32LittleEndian(s);
        s = s[4..];
        if (length < 0) return null;
        var text = Encoding.UTF8.GetString(s[..length]);
        s = s[length..];
        return text;
    }
}
