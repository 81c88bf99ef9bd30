using static Exchange.Engine.Tests.EngineHarness;

namespace Exchange.Engine.Tests;

/// <summary>One test per trading rule of DESIGN §2.2 and §2.3.</summary>
public sealed class TradingRuleTests
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

    [Fact]
    public void New_account_gets_the_configured_demo_balance()
    {
        var h = new EngineHarness(new EngineConfig { InitialBalance = new Usd(12_345_67) });
        var reply = h.CreateAccount(Alice);
        Assert.True(reply.Accepted);
        Assert.Equal(12_345.67m, reply.InitialBalance.ToDecimal());
        Assert.Equal(12_345.67m, h.Balance(Alice).Free.ToDecimal());
    }

    [Fact]
    public void Creating_an_account_reports_the_credit()
    {
        var h = new EngineHarness();
        h.CreateAccount(Alice);
        var created = h.Sink.Events.OfType<AccountCreated>().Single();
        Assert.Equal(Alice, created.User);
        Assert.Equal(5_000m, created.InitialBalance.ToDecimal());
        Assert.Equal(5_000m, h.Engine.TotalDeposits.ToDecimal());
    }

    [Fact]
    public void Default_demo_balance_is_5000_usd()
    {
        var h = new EngineHarness();
        Assert.Equal(5_000m, h.CreateAccount(Alice).InitialBalance.ToDecimal());
        Assert.Equal(5_000m, h.Apply(EngineInput.Query(InputKind.GetUsdBalance, h.Now, Alice)).Free.ToDecimal());
    }

    [Fact]
    public void Long_opens_at_the_ask_and_closes_at_the_bid()
    {
        var h = Market();
        var id = h.Open(Alice, "SOL_USDC", Direction.Long, 100m, 1).Trade.Id;
        h.Tick(Sol, 244.90m, 245.00m);
        var close = h.Close(Alice, id);
        Assert.Equal(244.90m, close.Close.ClosePrice.ToDecimal());
        // 100 / 240 = 0.41666666; (244.90 − 240) × 0.41666666 = 2.0416666… → 2.04
        Assert.Equal(2.04m, close.Close.Pnl.ToDecimal());
        Assert.Equal(100m, close.Close.MarginReturned.ToDecimal());
        Assert.Equal(102.04m, close.Close.TotalReturn.ToDecimal());
    }

    [Fact]
    public void Short_opens_at_the_bid_and_closes_at_the_ask()
    {
        var h = Market();
        var open = h.Open(Alice, "SOL_USDC", Direction.Short, 100m, 1);
        Assert.Equal(239.90m, open.Trade.OpenPrice.ToDecimal());
        h.Tick(Sol, 229.90m, 230.00m);
        var close = h.Close(Alice, open.Trade.Id);
        Assert.Equal(230.00m, close.Close.ClosePrice.ToDecimal());
        // 100 / 239.90 = 0.41684035; (239.90 − 230) × 0.41684035 = 4.1267…→ 4.12
        Assert.Equal(4.12m, close.Close.Pnl.ToDecimal());
    }

    [Fact]
    public void Opening_moves_margin_from_free_to_locked()
    {
        var h = Market();
        var reply = h.Open(Alice, "BTC_USDC", Direction.Long, 1_234.56m, 5);
        Assert.Equal(3_765.44m, reply.Free.ToDecimal());
        Assert.Equal(1_234.56m, reply.Locked.ToDecimal());
        var balance = h.Balance(Alice);
        Assert.Equal(3_765.44m, balance.Free.ToDecimal());
        Assert.Equal(1_234.56m, balance.Locked.ToDecimal());
    }

    [Fact]
    public void A_loss_is_floored_to_the_cent_against_the_trader()
    {
        var h = Market();
        var id = h.Open(Alice, "SOL_USDC", Direction.Long, 100m, 1).Trade.Id;
        h.Tick(Sol, 239.99m, 240.00m);
        // (239.99 − 240) × 0.41666666 = −0.0041666… → −0.01, not −0.00
        Assert.Equal(-0.01m, h.Close(Alice, id).Close.Pnl.ToDecimal());
    }

    [Fact]
    public void Equity_includes_unrealized_pnl_at_the_closing_price()
    {
        var h = Market();
        h.Open(Alice, "SOL_USDC", Direction.Long, 1_000m, 10);
        h.Tick(Sol, 250.00m, 250.10m);
        var balance = h.Balance(Alice);
        // 41.66666666 × (250 − 240) = 416.6666666 → 416.66
        Assert.Equal(4_000m, balance.Free.ToDecimal());
        Assert.Equal(1_000m, balance.Locked.ToDecimal());
        Assert.Equal(5_416.66m, balance.Equity.ToDecimal());
    }

    [Fact]
    public void Open_trades_are_listed_oldest_first_with_unrealized_pnl()
    {
        var h = Market();
        var first = h.Open(Alice, "BTC_USDC", Direction.Long, 100m, 10).Trade.Id;
        var second = h.Open(Alice, "SOL_USDC", Direction.Short, 100m, 10).Trade.Id;
        h.Open(Bob, "ETH_USDC", Direction.Long, 100m, 10);
        var trades = h.OpenTrades(Alice).OpenTrades!;
        Assert.Equal([first, second], trades.Select(t => t.Trade.Id));
        Assert.Equal(95_000m, trades[0].MarkPrice.ToDecimal());
        Assert.Equal(-0.11m, trades[0].UnrealizedPnl.ToDecimal()); // 0.01052520 × −10 = −0.105… → −0.11
    }

    [Fact]
    public void Short_take_profit_fires_when_the_ask_falls_to_it()
    {
        var h = Market();
        h.Open(Alice, "SOL_USDC", Direction.Short, 100m, 10, takeProfit: 230m);
        h.Tick(Sol, 229.90m, 230.01m);
        Assert.Empty(h.Sink.Closed);
        h.Tick(Sol, 229.80m, 229.95m);
        var closed = Assert.Single(h.Sink.Closed);
        Assert.Equal(CloseReason.TakeProfit, closed.Reason);
        Assert.Equal(229.95m, closed.ClosePrice.ToDecimal());
    }

    [Fact]
    public void Short_stop_loss_fires_when_the_ask_rises_to_it()
    {
        var h = Market();
        h.Open(Alice, "SOL_USDC", Direction.Short, 100m, 5, stopLoss: 245m);
        h.Tick(Sol, 244.90m, 244.99m);
        Assert.Empty(h.Sink.Closed);
        h.Tick(Sol, 244.95m, 245.00m);
        Assert.Equal(CloseReason.StopLoss, Assert.Single(h.Sink.Closed).Reason);
    }

    [Fact]
    public void Long_stop_loss_fires_when_the_bid_falls_to_it()
    {
        var h = Market();
        h.Open(Alice, "SOL_USDC", Direction.Long, 100m, 5, stopLoss: 235m);
        h.Tick(Sol, 235.01m, 235.10m);
        Assert.Empty(h.Sink.Closed);
        h.Tick(Sol, 235.00m, 235.10m);
        var closed = Assert.Single(h.Sink.Closed);
        Assert.Equal(CloseReason.StopLoss, closed.Reason);
        Assert.Equal(235.00m, closed.ClosePrice.ToDecimal());
    }

    [Fact]
    public void Long_is_liquidated_when_the_bid_reaches_the_liquidation_price()
    {
        var h = Market();
        var open = h.Open(Alice, "SOL_USDC", Direction.Long, 100m, 20); // 240 × 0.955 = 229.20
        Assert.Equal(229.20m, open.Trade.LiquidationPrice.ToDecimal());
        h.Tick(Sol, 229.21m, 229.30m);
        Assert.Empty(h.Sink.Closed);
        h.Tick(Sol, 229.20m, 229.30m);
        Assert.Equal(CloseReason.Liquidation, Assert.Single(h.Sink.Closed).Reason);
        Assert.Equal(4_900m, h.Balance(Alice).Free.ToDecimal());
    }

    [Fact]
    public void Manual_close_removes_the_trades_triggers()
    {
        var h = Market();
        var id = h.Open(Alice, "SOL_USDC", Direction.Long, 100m, 10, stopLoss: 230m, takeProfit: 250m).Trade.Id;
        Assert.True(h.Close(Alice, id).Accepted);
        h.Tick(Sol, 100m, 100.10m);
        h.Tick(Sol, 300m, 300.10m);
        Assert.Empty(h.Sink.Closed);
        Assert.Equal(0, h.Engine.OpenTradeCount);
    }

    [Fact]
    public void Triggers_fire_oldest_trade_first_at_the_same_price()
    {
        var h = Market();
        var first = h.Open(Alice, "SOL_USDC", Direction.Long, 100m, 10, stopLoss: 235m).Trade.Id;
        var second = h.Open(Bob, "SOL_USDC", Direction.Long, 100m, 10, stopLoss: 235m).Trade.Id;
        h.Tick(Sol, 234m, 234.10m);
        Assert.Equal([first, second], h.Sink.Closed.Select(c => c.Trade.Id));
    }

    [Fact]
    public void One_tick_fires_every_trade_it_reaches_and_no_other()
    {
        var h = Market();
        for (var i = 0; i < 10; i++) h.Open(Alice, "SOL_USDC", Direction.Long, 10m, 10, stopLoss: 230m + i);
        h.Tick(Sol, 234.5m, 234.6m);
        Assert.Equal(5, h.Sink.Closed.Count()); // stops at 235…239
        Assert.Equal(5, h.Engine.OpenTradeCount);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(0, 100)]
    [InlineData(100, 90)]
    [InlineData(-1, 100)]
    public void Crossed_or_empty_ticks_are_ignored(int bid, int ask)
    {
        var h = Market();
        h.Tick(Sol, bid, ask);
        Assert.Equal(239.90m, h.Engine.Bid(Sol).ToDecimal());
        Assert.Equal(240.00m, h.Engine.Ask(Sol).ToDecimal());
        Assert.Equal(1, h.Engine.IgnoredTicks);
    }

    [Fact]
    public void A_tick_above_the_highest_quote_is_ignored_and_liquidates_nobody()
    {
        var h = Market();
        var shortAt1x = h.Open(Alice, "SOL_USDC", Direction.Short, 100m, 1);
        var cap = Price.MaxQuote.ToDecimal();

        // A 1x SHORT opened at such a price would have a liquidation price (about twice the open) that does not fit a long.
        h.Tick(Sol, cap, cap + 0.00000001m);
        h.Tick(Sol, 3 * cap, 3 * cap);

        Assert.Equal(2, h.Engine.IgnoredTicks);
        Assert.Equal(240.00m, h.Engine.Ask(Sol).ToDecimal());
        Assert.Empty(h.Sink.Closed);
        Assert.True(shortAt1x.Accepted);
    }

    [Fact]
    public void Ticks_for_an_unknown_asset_are_ignored()
    {
        var h = Market();
        h.Tick(new AssetId(7), 1m, 2m);
        Assert.Equal(1, h.Engine.IgnoredTicks);
    }

    [Fact]
    public void An_input_already_applied_is_skipped()
    {
        var h = Market();
        var seq = h.Engine.LastSequence;
        Assert.False(h.Engine.Apply(EngineInput.CreateAccount(seq, h.Now, User(7)), h.Sink));
        Assert.Equal(RejectCode.AccountNotFound, h.Balance(User(7)).Code);
    }

    [Fact]
    public void Events_carry_gap_free_sequences_and_their_cause()
    {
        var h = Market();
        var before = h.Engine.LastEventSequence;
        h.Open(Alice, "SOL_USDC", Direction.Long, 100m, 10);
        var opened = h.Sink.Events.OfType<TradeOpened>().Single();
        var balance = h.Sink.Events.OfType<BalanceChanged>().Single();
        Assert.Equal(before + 1, opened.Header.EventSequence);
        Assert.Equal(before + 2, balance.Header.EventSequence);
        Assert.Equal(h.Engine.LastSequence, opened.Header.InputSequence);
        Assert.Equal(4_900m, balance.Free.ToDecimal());
        Assert.Equal(100m, balance.Locked.ToDecimal());
    }

    [Fact]
    public void Trade_ids_print_as_32_hex_digits_and_parse_back()
    {
        var id = new TradeId(new UInt128(0x0123456789abcdef, 0xfedcba9876543210));
        Assert.Equal("0123456789abcdeffedcba9876543210", id.ToString());
        Assert.True(TradeId.TryParse(id.ToString(), out var parsed));
        Assert.Equal(id, parsed);
        Assert.False(TradeId.TryParse("trade_123", out _));
        Assert.False(TradeId.TryParse("0123456789abcdeffedcba987654321g", out _));
    }
}
