using System.Globalization;
using CsCheck;

namespace Exchange.Engine.Tests;

/// <summary>
/// Properties of the engine over random workloads (see <see cref="WorkloadGenerator"/>): the
/// ledger balances to the cent after every input, no balance goes negative, nothing stays open
/// past its triggers, runs are deterministic, and a naive reference model of the trading rules
/// agrees with the engine on every reply and event. A failure prints CsCheck's seed and the
/// shrunk workload; pass the seed as <c>seed:</c> to reproduce it.
/// </summary>
public sealed class EnginePropertyTests
{
    private const int Iterations = 400;
    private static readonly Gen<Op[]> Workloads = WorkloadGenerator.Workload();

    private static void ForEachInput(Op[] ops, Action<TradingEngine, IReadOnlyList<EngineInput>, int> check)
    {
        var inputs = Workload.Build(ops).Inputs;
        var engine = new TradingEngine(WorkloadRunner.Config);
        WorkloadRunner.Run(engine, inputs, afterEach: i => check(engine, inputs, i));
    }

    [Fact]
    public void Money_is_conserved_exactly_over_random_workloads() =>
        Workloads.Sample(ops => ForEachInput(ops, WorkloadRunner.AssertMoneyConserved),
            iter: Iterations, print: WorkloadGenerator.Print);

    [Fact]
    public void Trader_balances_never_go_negative() =>
        Workloads.Sample(ops => ForEachInput(ops, WorkloadRunner.AssertNoNegativeBalance),
            iter: Iterations, print: WorkloadGenerator.Print);

    [Fact]
    public void No_open_trade_is_left_beyond_its_liquidation_stop_loss_or_take_profit() =>
        Workloads.Sample(ops => ForEachInput(ops, WorkloadRunner.AssertNothingLeftBeyondItsTriggers),
            iter: Iterations, print: WorkloadGenerator.Print);

    [Fact]
    public void Same_inputs_give_identical_replies_events_and_state_hash() =>
        Workloads.Sample(ops =>
        {
            var inputs = Workload.Build(ops).Inputs;
            var first = new TradingEngine(WorkloadRunner.Config);
            var second = new TradingEngine(WorkloadRunner.Config);
            Assert.Equal(WorkloadRunner.Run(first, inputs), WorkloadRunner.Run(second, inputs));
            Assert.Equal(first.StateHash(), second.StateHash());
            Assert.Equal(first.LastEventSequence, second.LastEventSequence);
        }, iter: Iterations, print: WorkloadGenerator.Print);

    [Fact]
    public void Engine_agrees_with_the_reference_model_on_every_reply_event_and_final_balance() =>
        Workloads.Sample(ops => WorkloadRunner.RunAgainstReference(Workload.Build(ops).Inputs),
            iter: 2 * Iterations, print: WorkloadGenerator.Print);

    /// <summary>
    /// One long workload from a fixed seed, checked with every property at once, plus a census
    /// showing the generator reaches every close reason and the common rejections (so the
    /// properties above are not passing on workloads where nothing happens).
    /// </summary>
    [Fact]
    public void Long_fixed_seed_workload_keeps_every_property_and_reaches_every_rule()
    {
        // 100 traders, so accounts keep opening through the run instead of all going broke early.
        var ops = WorkloadGenerator.Operations(100).Array[10_000].Generate(new PCG(1, 20_261_124), null, out _);
        var inputs = Workload.Build(ops).Inputs;
        var (engine, _, transcript) = WorkloadRunner.RunAgainstReference(inputs, (e, i) =>
        {
            WorkloadRunner.AssertMoneyConserved(e, inputs, i);
            WorkloadRunner.AssertNoNegativeBalance(e, inputs, i);
            WorkloadRunner.AssertNothingLeftBeyondItsTriggers(e, inputs, i);
        });

        var again = new TradingEngine(WorkloadRunner.Config);
        var sink = new TranscriptSink();
        Assert.Equal(transcript, WorkloadRunner.Run(again, inputs, sink: sink));
        Assert.Equal(engine.StateHash(), again.StateHash());

        // The boundaries of the trigger rules were reached, not just the easy middle.
        var closed = sink.Closed;
        Assert.Contains(closed, c => c.Reason == CloseReason.Liquidation && c.ClosePrice == c.Trade.LiquidationPrice);
        Assert.Contains(closed, c => c.Reason == CloseReason.StopLoss && c.ClosePrice == c.Trade.StopLoss);
        Assert.Contains(closed, c => c.Reason == CloseReason.TakeProfit && c.ClosePrice == c.Trade.TakeProfit);
        Assert.Contains(closed, c => c.Reason == CloseReason.Liquidation && c.InsuranceFundChange < Usd.Zero);
        Assert.Contains(closed, c => c.Reason == CloseReason.StopLoss && c.InsuranceFundChange < Usd.Zero);
        Assert.Contains(closed, c => c.Reason == CloseReason.StopLoss && (c.Trade.Direction == Direction.Long
            ? c.ClosePrice <= c.Trade.LiquidationPrice
            : c.ClosePrice >= c.Trade.LiquidationPrice));

        var text = string.Join("\n", transcript);
        foreach (var reason in Enum.GetValues<CloseReason>())
            Assert.Contains($"Reason = {reason},", text, StringComparison.Ordinal);
        RejectCode[] expected =
        [
            RejectCode.UnknownCommand, RejectCode.UnknownAsset, RejectCode.InvalidDirection, RejectCode.AccountNotFound,
            RejectCode.AccountExists, RejectCode.PriceStale, RejectCode.LeverageOutOfRange, RejectCode.LeverageNotInteger,
            RejectCode.MarginNotPositive, RejectCode.MarginTooPrecise, RejectCode.MarginBelowMinimum,
            RejectCode.InsufficientBalance, RejectCode.StopLossWrongSide, RejectCode.TakeProfitWrongSide,
            RejectCode.TriggerPriceInvalid, RejectCode.WouldBeLiquidatedAtOnce, RejectCode.MarginAboveMaximum,
            RejectCode.TradeIdTaken, RejectCode.TradeNotFound, RejectCode.TradeNotOwned,
        ];
        foreach (var code in expected)
            Assert.Contains($"Code = {code},", text, StringComparison.Ordinal);
        Assert.Contains("InsuranceFundChange = -", text, StringComparison.Ordinal);
        Assert.True(engine.IgnoredTicks > 0);
    }

    /// <summary>The reference model's own arithmetic, against numbers worked by hand.</summary>
    [Theory]
    [InlineData(Direction.Long, "100", 10, 5_000, "90.5")]    // 100 × (1 − 0.1 + 0.005)
    [InlineData(Direction.Short, "100", 10, 5_000, "109.5")]  // 100 × (1 + 0.1 − 0.005)
    [InlineData(Direction.Long, "100", 1, 5_000, "0.5")]
    [InlineData(Direction.Long, "3", 7, 5_000, "2.58642858")]  // 2.586428571… rounded up
    [InlineData(Direction.Short, "3", 7, 5_000, "3.41357142")] // 3.413571428… rounded down
    [InlineData(Direction.Long, "95010.12345678", 100, 5_000, "94535.07283950")] // 94535.0728394961… rounded up
    public void Reference_liquidation_price_matches_hand_worked_examples(Direction direction, string open, int leverage, int mmrPpm, string expected) =>
        Assert.Equal(Price.FromDecimal(decimal.Parse(expected, CultureInfo.InvariantCulture)).Raw,
            ReferenceEngine.LiquidationPrice(direction, Price.FromDecimal(decimal.Parse(open, CultureInfo.InvariantCulture)).Raw, leverage, mmrPpm));

    [Fact]
    public void Reference_quantity_and_pnl_round_the_documented_way()
    {
        // $100 × 10 at 3 → 333.33333333 (floored), not …34.
        Assert.Equal(333_33333333, ReferenceEngine.QuantityOf(100_00, 10, Price.FromDecimal(3m).Raw));
        // LONG 1 unit from 100 to 99.999 → −0.001 USD → floored to −1 cent; +0.009 → 0 cents.
        Assert.Equal(-1, ReferenceEngine.Pnl(Direction.Long, Price.FromDecimal(100m).Raw, Price.FromDecimal(99.999m).Raw, 1_00000000));
        Assert.Equal(0, ReferenceEngine.Pnl(Direction.Long, Price.FromDecimal(100m).Raw, Price.FromDecimal(100.009m).Raw, 1_00000000));
        Assert.Equal(-1, ReferenceEngine.Pnl(Direction.Short, Price.FromDecimal(100m).Raw, Price.FromDecimal(100.009m).Raw, 1_00000000));
    }
}
