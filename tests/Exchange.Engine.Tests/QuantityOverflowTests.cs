using System.Numerics;

namespace Exchange.Engine.Tests;

/// <summary>
/// Positions whose quantity does not fit the fixed-point scale (a long at 1e-8, so at most
/// about 92 billion units): an asset quoted below a thousandth of a dollar with a large
/// notional. The engine must refuse such a trade or record it exactly: an unchecked cast of the
/// Int128 quantity to long once wrapped around 2^64, and the trade's PnL was computed on a
/// wrong, even negative, position.
/// </summary>
public sealed class QuantityOverflowTests
{
    private static readonly UserId Whale = EngineHarness.User(1);
    private static readonly AssetId Shib = new(0);

    /// <summary>A configurable low-priced asset (the engine allows any list of assets) and a $100k demo balance.</summary>
    private static EngineHarness CheapAssetMarket()
    {
        var h = new EngineHarness(new EngineConfig
        {
            Assets = [new AssetSpec("SHIB_USDC")],
            InitialBalance = new Usd(100_000_00),
        });
        h.CreateAccount(Whale);
        h.Tick(Shib, 0.00001000m, 0.00001000m);
        return h;
    }

    [Fact]
    public void A_position_too_large_for_the_quantity_scale_is_refused_or_recorded_exactly()
    {
        var h = CheapAssetMarket();
        // $100,000 × 100 = $10M at $0.00001 = 1e12 units = 1e20 at 1e-8: beyond long.MaxValue (9.2e18).
        var reply = h.Open(Whale, "SHIB_USDC", Direction.Long, 100_000m, 100);

        var notional = new Fraction(100_000_00L * 100, 100);
        var exact = (notional / new Fraction(Price.FromDecimal(0.00001m).Raw, Price.Scale) * Fraction.Whole(Quantity.Scale)).Floor();
        Assert.Equal(BigInteger.Parse("100000000000000000000", System.Globalization.CultureInfo.InvariantCulture), exact);
        if (reply.Accepted)
            Assert.Equal(exact, (BigInteger)reply.Trade.Quantity.Raw);
    }

    [Fact]
    public void A_long_that_loses_value_never_pays_the_trader_a_profit()
    {
        var h = CheapAssetMarket();
        // $15,000 × 100 at $0.00001 = 1.5e19 at 1e-8, which wraps to a negative quantity.
        var opened = h.Open(Whale, "SHIB_USDC", Direction.Long, 15_000m, 100);
        if (!opened.Accepted) return; // refusing the trade is a correct answer too

        h.Tick(Shib, 0.00000999m, 0.00000999m); // −0.1 %: well above the liquidation price
        var closed = h.Close(Whale, opened.Trade.Id);

        Assert.True(closed.Accepted);
        Assert.True(closed.Close.Pnl <= Usd.Zero, $"a LONG closed below its open price made {closed.Close.Pnl} USD");
    }
}
