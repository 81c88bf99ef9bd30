using System.Text;
using Exchange.Feed.Exchanges;

namespace Exchange.Feed.Tests;

public class PriceTextTests
{
    [Theory]
    [InlineData("95000.01", 9_500_001_000_000L)]
    [InlineData("95000.01000000", 9_500_001_000_000L)]
    [InlineData("0.00000001", 1L)]
    [InlineData("240.12345678", 24_012_345_678L)]
    [InlineData("18.70", 1_870_000_000L)]
    [InlineData("3500", 350_000_000_000L)]
    [InlineData("007.5", 750_000_000L)]
    [InlineData("1.0000000000", 100_000_000L)] // zeros past the 8th decimal change nothing
    [InlineData("0", 0L)]
    [InlineData("92233720368.54775807", long.MaxValue)]
    public void Decimal_strings_scale_exactly(string text, long raw)
    {
        Assert.True(PriceText.TryParse(Encoding.ASCII.GetBytes(text), out var price));
        Assert.Equal(raw, price.Raw);
        Assert.True(PriceText.TryParse(text.AsSpan(), out price));
        Assert.Equal(raw, price.Raw);
    }

    [Theory]
    [InlineData("")]
    [InlineData(".")]
    [InlineData(".5")]
    [InlineData("5.")]
    [InlineData("95000.000000001")] // a 9th decimal would have to be rounded
    [InlineData("-1")]
    [InlineData("+1")]
    [InlineData("1e5")]
    [InlineData(" 1")]
    [InlineData("1 ")]
    [InlineData("1,5")]
    [InlineData("1.2.3")]
    [InlineData("NaN")]
    [InlineData("92233720368.54775808")] // one past long.MaxValue at the scale
    [InlineData("99999999999999999999")]
    [InlineData("٣")] // a digit, but not an ASCII one
    public void Anything_else_is_refused(string text)
    {
        Assert.False(PriceText.TryParse(Encoding.UTF8.GetBytes(text), out _));
        Assert.False(PriceText.TryParse(text.AsSpan(), out _));
    }

    [Theory]
    [InlineData("""{"stream":"x","data":{"s":"BTCUSDC","b":"1","a":"2"}}""", "BookTicker")]
    [InlineData("""{"data":{"s":"BTCUSDC","b":"1","a":"2"},"stream":"x","extra":[1,{"b":"9"}]}""", "BookTicker")]
    [InlineData("""{"result":null,"id":1}""", "Control")]
    [InlineData("""{"id":null,"error":{"code":4006}}""", "Control")]
    [InlineData("""[]""", "Malformed")]
    [InlineData("""null""", "Malformed")]
    [InlineData("""{"stream":"x","data":[]}""", "Malformed")]
    [InlineData("""{"stream":1,"data":{"s":"BTCUSDC","b":"1","a":"2"}}""", "Malformed")]
    [InlineData("""{"stream":"x","data":{"s":"BTCUSDC","b":"\u0031","a":"2"}}""", "Malformed")]
    [InlineData("""{"stream":"x","data":{"s":"BTCUSDC","b":null,"a":"2"}}""", "Malformed")]
    [InlineData("""{"stream":"x","data":{"b":"1","a":"2"}}""", "Malformed")]
    [InlineData("""{"stream":"x","data":{"s":"BTCUSDC","b":"1","a":"2"}} {}""", "Malformed")]
    [InlineData("""{"stream":"x","data":{"s":"BTCUSDC","b":"1","a":"2"}""", "Malformed")]
    public void Frames_are_classified_without_throwing(string json, string kind) =>
        Assert.Equal(kind, BookTickerFrame.Read(Encoding.UTF8.GetBytes(json), out _, out _).ToString());

    [Fact]
    public void The_transaction_time_is_preferred_to_the_event_time()
    {
        BookTickerFrame.Read("""{"stream":"x","data":{"E":2,"T":1,"s":"S","b":"1","a":"2"}}"""u8, out var frame, out _);
        Assert.Equal(1, frame.EventTime);
        BookTickerFrame.Read("""{"stream":"x","data":{"E":2,"s":"S","b":"1","a":"2"}}"""u8, out frame, out _);
        Assert.Equal(2, frame.EventTime);
    }
}
