using System.Text.Json;
using Exchange.Engine;

namespace Exchange.Feed.Exchanges;

internal enum FrameKind
{
    /// <summary>A stream envelope with a symbol, a bid and an ask that parsed exactly.</summary>
    BookTicker,

    /// <summary>A reply to our own request (<c>result</c>, <c>id</c>, <c>error</c>): not market data.</summary>
    Control,
    Malformed,
}

/// <summary>
/// The fields both exchanges put in a book-ticker frame, <c>{"stream":..,"data":{"s","b","a",..}}</c>.
/// <see cref="EventTime"/> is the exchange's <c>T</c> (or else <c>E</c>) in the exchange's own unit.
/// </summary>
internal readonly record struct BookTickerFrame(string Stream, string Symbol, Price Bid, Price Ask, long? EventTime)
{
    /// <summary>
    /// Reads one text frame. Never throws for bad input: <paramref name="problem"/> says what was
    /// wrong (malformed) or carries the exchange's error (control); both are for the log only.
    /// </summary>
    public static FrameKind Read(ReadOnlySpan<byte> json, out BookTickerFrame frame, out string? problem)
    {
        frame = default;
        try
        {
            return ReadEnvelope(json, out frame, out problem);
        }
        catch (JsonException e)
        {
            problem = "not JSON: " + e.Message;
            return FrameKind.Malformed;
        }
        catch (InvalidOperationException e)
        {
            // A value of the wrong JSON type (a number where a string belongs) lands here.
            problem = "unexpected value: " + e.Message;
            return FrameKind.Malformed;
        }
    }

    private static FrameKind ReadEnvelope(ReadOnlySpan<byte> json, out BookTickerFrame frame, out string? problem)
    {
        frame = default;
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 16 });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            problem = "not a JSON object";
            return FrameKind.Malformed;
        }

        string? stream = null;
        Fields data = default;
        var hasData = false;
        var control = false;
        problem = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("stream"u8))
            {
                reader.Read();
                stream = reader.GetString();
            }
            else if (reader.ValueTextEquals("data"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    problem = "data is not an object";
                    return FrameKind.Malformed;
                }
                data = ReadData(ref reader);
                hasData = true;
            }
            else if (reader.ValueTextEquals("error"u8))
            {
                reader.Read();
                var start = (int)reader.TokenStartIndex;
                reader.Skip();
                problem = "exchange error: " + System.Text.Encoding.UTF8.GetString(json[start..(int)reader.BytesConsumed]);
                control = true;
            }
            else
            {
                control |= reader.ValueTextEquals("result"u8) || reader.ValueTextEquals("id"u8);
                reader.Read();
                reader.Skip();
            }
        }
        if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
        {
            problem = "trailing content after the object";
            return FrameKind.Malformed;
        }

        if (stream is null && !hasData && control)
            return FrameKind.Control;
        problem = stream is null ? "no stream" : !hasData ? "no data" : data.Problem;
        if (problem is not null)
            return FrameKind.Malformed;
        frame = new BookTickerFrame(stream!, data.Symbol!, data.Bid, data.Ask, data.EventTime);
        return FrameKind.BookTicker;
    }

    private struct Fields
    {
        public string? Symbol;
        public Price Bid, Ask;
        public bool HasBid, HasAsk;
        public long? EventTime, TransactionTime;
        public string? BadField;

        public readonly string? Problem =>
            BadField is not null ? $"'{BadField}' is not an exact price with at most {Price.Decimals} decimals"
            : Symbol is null ? "missing 's'"
            : !HasBid ? "missing 'b'"
            : !HasAsk ? "missing 'a'"
            : null;
    }

    private static Fields ReadData(ref Utf8JsonReader reader)
    {
        var f = new Fields();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            // Case matters: 'b'/'a' are prices, 'B'/'A' quantities; 'E' event time, 'e' event type.
            if (reader.ValueTextEquals("s"u8))
            {
                reader.Read();
                f.Symbol = reader.GetString();
            }
            else if (reader.ValueTextEquals("b"u8))
            {
                reader.Read();
                f.HasBid = true;
                if (!TryPrice(ref reader, out f.Bid))
                    f.BadField ??= "b";
            }
            else if (reader.ValueTextEquals("a"u8))
            {
                reader.Read();
                f.HasAsk = true;
                if (!TryPrice(ref reader, out f.Ask))
                    f.BadField ??= "a";
            }
            else if (reader.ValueTextEquals("T"u8))
            {
                reader.Read();
                f.TransactionTime = reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var t) ? t : null;
            }
            else if (reader.ValueTextEquals("E"u8))
            {
                reader.Read();
                f.EventTime = reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var t) ? t : null;
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        f.EventTime = f.TransactionTime ?? f.EventTime;
        return f;
    }

    // Exchanges send prices as strings so that no float ever touches them; anything else is malformed.
    private static bool TryPrice(ref Utf8JsonReader reader, out Price price)
    {
        price = default;
        return reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped &&
            PriceText.TryParse(reader.ValueSpan, out price);
    }
}
