using Exchange.Server.Api;

namespace Exchange.Server.Tests;

/// <summary>Decimals read back from a database are written without the column's trailing zeros.</summary>
public sealed class PlainDecimalsTests
{
    [Theory]
    [InlineData("94987.09000000", "94987.09")]
    [InlineData("1000.0", "1000")]
    [InlineData("-12.50", "-12.5")]
    [InlineData("0.00000001", "0.00000001")]
    [InlineData("0.0000", "0")]
    [InlineData("79228162514264337593543950335", "79228162514264337593543950335")]
    public void Trailing_zeros_go_and_the_value_stays(string stored, string written)
    {
        var value = decimal.Parse(stored, System.Globalization.CultureInfo.InvariantCulture);

        var plain = TradesApi.Plain(value);

        Assert.Equal(value, plain);
        Assert.Equal(written, plain.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }
}
