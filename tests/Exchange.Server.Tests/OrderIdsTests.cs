using Exchange.Server.Api;

namespace Exchange.Server.Tests;

/// <summary>Trade ids sort by creation time (the database appends instead of scattering inserts) and stay unguessable.</summary>
public sealed class OrderIdsTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 2, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_later_trade_id_sorts_after_an_earlier_one_as_a_number_and_as_text()
    {
        var earlier = OrderEntry.NewTradeId(Now);
        var later = OrderEntry.NewTradeId(Now.AddMilliseconds(1));

        Assert.True(later.CompareTo(earlier) > 0);
        Assert.True(string.CompareOrdinal(later.ToString(), earlier.ToString()) > 0);
        Assert.StartsWith(Now.ToUnixTimeMilliseconds().ToString("x12", System.Globalization.CultureInfo.InvariantCulture), earlier.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Trade_ids_made_in_the_same_millisecond_differ_in_their_random_bits()
    {
        var ids = Enumerable.Range(0, 10_000).Select(_ => OrderEntry.NewTradeId(Now).Value).ToHashSet();

        Assert.Equal(10_000, ids.Count);
    }
}
