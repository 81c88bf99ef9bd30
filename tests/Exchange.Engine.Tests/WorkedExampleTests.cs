using static Exchange.Engine.Tests.EngineHarness;

namespace Exchange.Engine.Tests;

/// <summary>Whole trades worked out by hand, checked to the cent (the arithmetic is in each comment).</summary>
public sealed class WorkedExampleTests
{
    private static readonly UserId Alice = User(1);

    private static EngineHarness Funded()
    {
        var h = new EngineHarness();
        h.CreateAccount(Alice);
        return h;
    }

    private static void AssertConserved(TradingEngine engine, Usd free, Usd locked)
    {
        Assert.Equal(engine.TotalDeposits, free + locked + engine.InsuranceFund + engine.HousePnl);
    }

    [Fact]
    public void Sol_long_at_10x_closes_at_its_take_profit()
    {
        var h = Funded();
        h.Tick(Sol, 239.90m, 240.00m);
        var open = h.Open(Alice, "SOL_USDC", Direction.Long, 1_000m, 10, takeProfit: 250m);

        // opens at the ask; 1,000 × 10 = 10,000 notional; 10,000 / 240 = 41.66666666 SOL (floored)
        Assert.Equal(240.00m, open.Trade.OpenPrice.ToDecimal());
        Assert.Equal(41.66666666m, open.Trade.Quantity.ToDecimal());
        // 240 × (1 − 0.1 + 0.005) = 217.20
        Assert.Equal(217.20m, open.Trade.LiquidationPrice.ToDecimal());
        Assert.Equal(4_000m, open.Free.ToDecimal());

        h.Tick(Sol, 249.99m, 250.05m);
        Assert.Empty(h.Sink.Closed);
        h.Tick(Sol, 250.10m, 250.20m);

        // fills at the tick's bid: (250.10 − 240.00) × 41.66666666 = 420.8333332… → 420.83
        var closed = Assert.Single(h.Sink.Closed);
        Assert.Equal(CloseReason.TakeProfit, closed.Reason);
        Assert.Equal(250.10m, closed.ClosePrice.ToDecimal());
        Assert.Equal(420.83m, closed.Pnl.ToDecimal());
        Assert.Equal(1_420.83m, closed.Payout.ToDecimal());

        var balance = h.Balance(Alice);
        Assert.Equal(5_420.83m, balance.Free.ToDecimal());
        Assert.Equal(0m, balance.Locked.ToDecimal());
        Assert.Equal(-420.83m, h.Engine.HousePnl.ToDecimal());
        AssertConserved(h.Engine, balance.Free, balance.Locked);
    }

    [Fact]
    public void Btc_short_at_50x_is_liquidated_when_the_ask_reaches_its_liquidation_price()
    {
        var h = Funded();
        h.Tick(Btc, 95_000m, 95_010m);
        var open = h.Open(Alice, "BTC_USDC", Direction.Short, 500m, 50);

        // opens at the bid; 25,000 / 95,000 = 0.26315789 BTC; 95,000 × (1 + 0.02 − 0.005) = 96,425
        Assert.Equal(95_000m, open.Trade.OpenPrice.ToDecimal());
        Assert.Equal(0.26315789m, open.Trade.Quantity.ToDecimal());
        Assert.Equal(96_425m, open.Trade.LiquidationPrice.ToDecimal());

        h.Tick(Btc, 96_410m, 96_424.99m);
        Assert.Empty(h.Sink.Closed);
        h.Tick(Btc, 96_420m, 96_430m);

        // (95,000 − 96,430) × 0.26315789 = −376.3157827 → −376.32; 500 − 376.32 = 123.68 left for the fund
        var closed = Assert.Single(h.Sink.Closed);
        Assert.Equal(CloseReason.Liquidation, closed.Reason);
        Assert.Equal(96_430m, closed.ClosePrice.ToDecimal());
        Assert.Equal(-376.32m, closed.Pnl.ToDecimal());
        Assert.Equal(0m, closed.Payout.ToDecimal());
        Assert.Equal(123.68m, closed.InsuranceFundChange.ToDecimal());
        Assert.Equal(123.68m, h.Engine.InsuranceFund.ToDecimal());
        Assert.Equal(376.32m, h.Engine.HousePnl.ToDecimal());

        var balance = h.Balance(Alice);
        Assert.Equal(4_500m, balance.Free.ToDecimal());
        Assert.Equal(0m, balance.Locked.ToDecimal());
        AssertConserved(h.Engine, balance.Free, balance.Locked);
    }

    [Fact]
    public void Long_at_100x_that_gaps_through_liquidation_costs_the_trader_only_the_margin()
    {
        var h = Funded();
        h.Tick(Btc, 95_000m, 95_010m);
        var open = h.Open(Alice, "BTC_USDC", Direction.Long, 1_000m, 100);

        // 100,000 / 95,010 = 1.05252078 BTC; 95,010 × 0.995 = 94,534.95
        Assert.Equal(1.05252078m, open.Trade.Quantity.ToDecimal());
        Assert.Equal(94_534.95m, open.Trade.LiquidationPrice.ToDecimal());

        h.Tick(Btc, 90_000m, 90_010m);

        // (90,000 − 95,010) × 1.05252078 = −5,273.1291… → −5,273.13; the fund pays the 4,273.13 gap
        var closed = Assert.Single(h.Sink.Closed);
        Assert.Equal(CloseReason.Liquidation, closed.Reason);
        Assert.Equal(-5_273.13m, closed.Pnl.ToDecimal());
        Assert.Equal(0m, closed.Payout.ToDecimal());
        Assert.Equal(-4_273.13m, closed.InsuranceFundChange.ToDecimal());
        Assert.Equal(-4_273.13m, h.Engine.InsuranceFund.ToDecimal());
        Assert.Equal(5_273.13m, h.Engine.HousePnl.ToDecimal());

        var balance = h.Balance(Alice);
        Assert.Equal(4_000m, balance.Free.ToDecimal());
        Assert.Equal(0m, balance.Locked.ToDecimal());
        AssertConserved(h.Engine, balance.Free, balance.Locked);
    }

    [Fact]
    public void Stop_loss_wins_over_liquidation_when_one_tick_passes_both()
    {
        var h = Funded();
        h.Tick(Eth, 3_499m, 3_500m);
        var open = h.Open(Alice, "ETH_USDC", Direction.Long, 100m, 50, stopLoss: 3_460m);
        Assert.Equal(3_447.50m, open.Trade.LiquidationPrice.ToDecimal()); // 3,500 × 0.985

        h.Tick(Eth, 3_400m, 3_401m);

        // 5,000 / 3,500 = 1.42857142 ETH; (3,400 − 3,500) × 1.42857142 = −142.857142 → −142.86
        var closed = Assert.Single(h.Sink.Closed);
        Assert.Equal(CloseReason.StopLoss, closed.Reason);
        Assert.Equal(3_400m, closed.ClosePrice.ToDecimal());
        Assert.Equal(-142.86m, closed.Pnl.ToDecimal());
        // the loss beyond the margin is the fund's, not the trader's
        Assert.Equal(0m, closed.Payout.ToDecimal());
        Assert.Equal(-42.86m, closed.InsuranceFundChange.ToDecimal());
        Assert.Equal(4_900m, h.Balance(Alice).Free.ToDecimal());
    }

    [Fact]
    public void A_stop_loss_below_the_liquidation_price_is_refused_as_it_could_only_fire_on_a_gap()
    {
        var h = Funded();
        h.Tick(Eth, 3_499m, 3_500m);

        // Liquidation at 3,447.50: a stop-loss at 3,440 would never fire first, except on a gap
        // through both, where it wins and would pay out 14.28 at 3,440 while 3,445 pays nothing.
        Assert.Equal(RejectCode.StopLossWrongSide, h.Open(Alice, "ETH_USDC", Direction.Long, 100m, 50, stopLoss: 3_440m).Code);
        Assert.True(h.Open(Alice, "ETH_USDC", Direction.Long, 100m, 50, stopLoss: 3_447.51m).Accepted);
    }
}
