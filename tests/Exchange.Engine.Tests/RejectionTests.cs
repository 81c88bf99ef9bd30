using System.Globalization;
using static Exchange.Engine.Tests.EngineHarness;

namespace Exchange.Engine.Tests;

/// <summary>Each rejection reason, and that a rejected command changes nothing at all.</summary>
public sealed class RejectionTests
{
    private static readonly UserId Alice = User(1);
    private static readonly UserId Bob = User(2);

    private static EngineHarness Market()
    {
        var h = new EngineHarness();
        h.CreateAccount(Alice);
        h.CreateAccount(Bob);
        h.Tick(Btc, 95_000m, 95_010m);
        h.Tick(Eth, 3_499m, 3_500m);
        h.Tick(Sol, 239.90m, 240.00m);
        return h;
    }

    private static void AssertRejected(EngineHarness h, RejectCode expected, Func<EngineHarness, CommandReply> act)
    {
        var before = h.Engine.StateHash();
        var reply = act(h);
        Assert.Equal(expected, reply.Code);
        Assert.False(reply.Accepted);
        Assert.Empty(h.Sink.Events);
        var after = h.Engine.CaptureImage();
        // Only the log position moves: the command was consumed, nothing else changed.
        Assert.Equal(before, StateCodec.Hash(WithSequence(after, after.LastSequence - 1)));
    }

    private static StateImage WithSequence(StateImage image, long sequence) => new()
    {
        LastSequence = sequence, EventSequence = image.EventSequence, InsuranceFund = image.InsuranceFund,
        HousePnl = image.HousePnl, TotalDeposits = image.TotalDeposits, IgnoredTicks = image.IgnoredTicks,
        Markets = image.Markets, Accounts = image.Accounts, TradeSlots = image.TradeSlots, TradeSlotCount = image.TradeSlotCount,
    };

    // SOL 239.90 / 240.00 at 10x: a LONG liquidates at 217.20 (240 × 0.905), a SHORT at 262.6905 (239.90 × 1.095).
    [Theory]
    [InlineData(Direction.Long, "241")]
    [InlineData(Direction.Long, "240.00")] // the open price
    [InlineData(Direction.Long, "239.95")] // inside the spread: the next tick's bid would fire it
    [InlineData(Direction.Long, "239.90")] // the bid itself
    [InlineData(Direction.Long, "217.20")] // the liquidation price
    [InlineData(Direction.Long, "200")] // past it: could fire only on a gap through both, and win
    [InlineData(Direction.Short, "230")]
    [InlineData(Direction.Short, "239.90")]
    [InlineData(Direction.Short, "239.95")]
    [InlineData(Direction.Short, "240.00")]
    [InlineData(Direction.Short, "262.6905")]
    [InlineData(Direction.Short, "280")]
    public void Stop_loss_outside_the_closing_price_and_the_liquidation_price_is_rejected(Direction direction, string stopLoss) =>
        AssertRejected(Market(), RejectCode.StopLossWrongSide, h => h.Open(Alice, "SOL_USDC", direction, 100, 10, stopLoss: decimal.Parse(stopLoss, CultureInfo.InvariantCulture)));

    [Theory]
    [InlineData(Direction.Long, "239.89999999")]
    [InlineData(Direction.Long, "217.20000001")]
    [InlineData(Direction.Short, "240.00000001")]
    [InlineData(Direction.Short, "262.69049999")]
    public void Stop_loss_just_inside_the_closing_price_and_the_liquidation_price_is_accepted(Direction direction, string stopLoss)
    {
        var h = Market();
        var reply = h.Open(Alice, "SOL_USDC", direction, 100, 10, stopLoss: decimal.Parse(stopLoss, CultureInfo.InvariantCulture));
        Assert.True(reply.Accepted, reply.Code.Name());
        Assert.Equal(direction == Direction.Long ? 217.20m : 262.6905m, reply.Trade.LiquidationPrice.ToDecimal());
    }

    [Theory]
    [InlineData(Direction.Long, "239.95")] // inside the spread
    [InlineData(Direction.Long, "200")] // past the liquidation price
    [InlineData(Direction.Short, "239.95")]
    [InlineData(Direction.Short, "280")]
    public void A_trade_journaled_before_the_stop_loss_band_replays_with_the_check_it_was_taken_under(Direction direction, string stopLoss)
    {
        var h = Market();
        var input = EngineInput.CreateTrade(h.NextSequence(), h.Now, Alice, new TradeId(77), "SOL_USDC", direction, 100, 10,
            decimal.Parse(stopLoss, CultureInfo.InvariantCulture), null) with
        { StopLossCheckedAgainstOpenPrice = true };

        Assert.True(h.Apply(input).Accepted);
        Assert.Equal(RejectCode.StopLossWrongSide, h.Apply(input with
        {
            Sequence = h.NextSequence(),
            TradeId = new TradeId(78),
            StopLossCheckedAgainstOpenPrice = false
        }).Code);
    }

    [Theory]
    [InlineData(Direction.Long, 240.00)]
    [InlineData(Direction.Long, 230)]
    [InlineData(Direction.Short, 239.90)]
    [InlineData(Direction.Short, 250)]
    public void Take_profit_on_the_wrong_side_of_the_open_price_is_rejected(Direction direction, double takeProfit) =>
        AssertRejected(Market(), RejectCode.TakeProfitWrongSide, h => h.Open(Alice, "SOL_USDC", direction, 100, 10, takeProfit: (decimal)takeProfit));

    [Theory]
    [InlineData(0)]
    [InlineData(101)]
    [InlineData(-5)]
    public void Leverage_outside_1_to_100_is_rejected(int leverage) =>
        AssertRejected(Market(), RejectCode.LeverageOutOfRange, h => h.Open(Alice, "BTC_USDC", Direction.Long, 100, leverage));

    [Fact]
    public void Fractional_leverage_is_rejected() =>
        AssertRejected(Market(), RejectCode.LeverageNotInteger, h => h.Open(Alice, "BTC_USDC", Direction.Long, 100, 2.5m));

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(-0.01)]
    public void Margin_of_zero_or_less_is_rejected(double margin) =>
        AssertRejected(Market(), RejectCode.MarginNotPositive, h => h.Open(Alice, "BTC_USDC", Direction.Long, (decimal)margin, 10));

    [Fact]
    public void Margin_above_the_free_balance_is_rejected() =>
        AssertRejected(Market(), RejectCode.InsufficientBalance, h => h.Open(Alice, "BTC_USDC", Direction.Long, 5_000.01m, 10));

    [Fact]
    public void Margin_with_more_than_two_decimals_is_rejected() =>
        AssertRejected(Market(), RejectCode.MarginTooPrecise, h => h.Open(Alice, "BTC_USDC", Direction.Long, 100.001m, 10));

    [Fact]
    public void Margin_below_the_asset_minimum_is_rejected() =>
        AssertRejected(Market(), RejectCode.MarginBelowMinimum, h => h.Open(Alice, "BTC_USDC", Direction.Long, 0.99m, 10));

    [Fact]
    public void Margin_above_the_asset_maximum_is_rejected() =>
        AssertRejected(Market(), RejectCode.MarginAboveMaximum, h => h.Open(Alice, "BTC_USDC", Direction.Long, 1e20m, 10));

    [Theory]
    [InlineData("DOGE_USDC")]
    [InlineData("")]
    [InlineData(null)]
    public void Unknown_asset_is_rejected(string? symbol) =>
        AssertRejected(Market(), RejectCode.UnknownAsset, h => h.Open(Alice, symbol!, Direction.Long, 100, 10));

    [Fact]
    public void Unknown_direction_is_rejected() =>
        AssertRejected(Market(), RejectCode.InvalidDirection, h => h.Open(Alice, "BTC_USDC", (Direction)7, 100, 10));

    [Fact]
    public void Trading_before_the_first_price_is_rejected()
    {
        var h = new EngineHarness();
        h.CreateAccount(Alice);
        AssertRejected(h, RejectCode.NoPrice, h => h.Open(Alice, "BTC_USDC", Direction.Long, 100, 10));
    }

    [Fact]
    public void Trading_on_a_stale_price_is_rejected()
    {
        var h = Market();
        h.Now += h.Engine.Config.PriceMaxAgeMs + 1;
        AssertRejected(h, RejectCode.PriceStale, h => h.Open(Alice, "BTC_USDC", Direction.Long, 100, 10));
    }

    [Fact]
    public void Closing_on_a_stale_price_is_rejected()
    {
        var h = Market();
        var id = h.Open(Alice, "BTC_USDC", Direction.Long, 100, 10).Trade.Id;
        h.Now += h.Engine.Config.PriceMaxAgeMs + 1;
        AssertRejected(h, RejectCode.PriceStale, h => h.Close(Alice, id));
    }

    [Fact]
    public void Trading_without_an_account_is_rejected() =>
        AssertRejected(Market(), RejectCode.AccountNotFound, h => h.Open(User(99), "BTC_USDC", Direction.Long, 100, 10));

    [Fact]
    public void Querying_without_an_account_is_rejected()
    {
        var h = Market();
        Assert.Equal(RejectCode.AccountNotFound, h.Balance(User(99)).Code);
        Assert.Equal(RejectCode.AccountNotFound, h.Apply(EngineInput.Query(InputKind.GetUsdBalance, h.Now, User(99))).Code);
    }

    [Fact]
    public void Creating_an_account_twice_is_rejected() =>
        AssertRejected(Market(), RejectCode.AccountExists, h => h.CreateAccount(Alice));

    [Fact]
    public void Closing_an_unknown_trade_is_rejected() =>
        AssertRejected(Market(), RejectCode.TradeNotFound, h => h.Close(Alice, new TradeId(12345)));

    [Fact]
    public void Closing_another_traders_trade_is_rejected()
    {
        var h = Market();
        var id = h.Open(Alice, "BTC_USDC", Direction.Long, 100, 10).Trade.Id;
        AssertRejected(h, RejectCode.TradeNotOwned, h => h.Close(Bob, id));
        Assert.Equal(RejectCode.TradeNotFound.Message(), RejectCode.TradeNotOwned.Message());
    }

    [Fact]
    public void Closing_a_trade_twice_is_rejected()
    {
        var h = Market();
        var id = h.Open(Alice, "BTC_USDC", Direction.Long, 100, 10).Trade.Id;
        Assert.True(h.Close(Alice, id).Accepted);
        AssertRejected(h, RejectCode.TradeNotFound, h => h.Close(Alice, id));
    }

    [Fact]
    public void Reusing_an_open_trade_id_is_rejected()
    {
        var h = Market();
        var id = h.Open(Alice, "BTC_USDC", Direction.Long, 100, 10).Trade.Id;
        AssertRejected(h, RejectCode.TradeIdTaken, h => h.Open(Bob, "ETH_USDC", Direction.Long, 100, 10, id: id));
    }

    [Fact]
    public void Leverage_whose_liquidation_price_is_inside_the_spread_is_rejected()
    {
        var h = Market();
        h.Tick(Sol, 238.00m, 240.00m); // 0.83 % spread: a 100x LONG would be liquidated by the bid at once
        AssertRejected(h, RejectCode.WouldBeLiquidatedAtOnce, h => h.Open(Alice, "SOL_USDC", Direction.Long, 100, 100));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(0.000000001)]
    public void Stop_loss_that_is_not_a_valid_price_is_rejected(double stopLoss) =>
        AssertRejected(Market(), RejectCode.TriggerPriceInvalid, h => h.Open(Alice, "SOL_USDC", Direction.Long, 100, 10, stopLoss: (decimal)stopLoss));

    [Fact]
    public void Unknown_command_is_rejected() =>
        AssertRejected(Market(), RejectCode.UnknownCommand, h => h.Apply(new EngineInput { Kind = (InputKind)99, Sequence = h.NextSequence(), User = Alice }));

    [Fact]
    public void Every_reject_code_has_a_distinct_name()
    {
        var codes = Enum.GetValues<RejectCode>();
        Assert.Equal(codes.Length, codes.Select(c => c.Name()).Distinct().Count());
        Assert.DoesNotContain(codes, c => c.Name() == "UNKNOWN_REJECTION");
    }
}
