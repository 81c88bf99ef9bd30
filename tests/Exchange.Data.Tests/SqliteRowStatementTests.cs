using System.Globalization;
using System.Text;
using CsCheck;

namespace Exchange.Data.Tests;

/// <summary>Decimals are stored as text; the fast formatting must give exactly the text Microsoft.Data.Sqlite gives.</summary>
public sealed class SqliteRowStatementTests
{
    private static string Expected(decimal d) => d.ToString("0.0###########################", CultureInfo.InvariantCulture);

    private static string Formatted(decimal d)
    {
        Span<byte> utf8 = stackalloc byte[64];
        return Encoding.UTF8.GetString(utf8[..SqliteRowStatement.FormatDecimal(d, utf8)]);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("0.00")]
    [InlineData("-0.00")]
    [InlineData("1")]
    [InlineData("-1")]
    [InlineData("123.00")]
    [InlineData("0.5")]
    [InlineData("0.00000001")]
    [InlineData("-0.00010")]
    [InlineData("96425.12345678")]
    [InlineData("-12345678901234.56")]
    [InlineData("18446744073709551615")]
    [InlineData("18446744073709551616")]
    [InlineData("79228162514264337593543950335")]
    [InlineData("0.0000000000000000000000000001")]
    public void Amounts_and_prices_are_written_as_the_general_decimal_format_writes_them(string text)
    {
        var d = decimal.Parse(text, CultureInfo.InvariantCulture);
        Assert.Equal(Expected(d), Formatted(d));
    }

    [Fact]
    public void Any_decimal_is_written_as_the_general_decimal_format_writes_it()
    {
        // Mostly 64-bit digits (the fast path), some wider; every scale and sign.
        var decimals = Gen.Select(Gen.Int, Gen.Int, Gen.Frequency((4, Gen.Const(0)), (1, Gen.Int)), Gen.Bool, Gen.Byte[0, 28])
            .Select((lo, mid, hi, negative, scale) => new decimal(lo, mid, hi, negative, scale));
        decimals.Sample(d => Assert.Equal(Expected(d), Formatted(d)), iter: 100_000);
    }
}
