namespace Exchange.Engine.Tests;

/// <summary>Everything an engine reports, as text lines in the order it reported them, so two runs compare with one Equal.</summary>
public sealed class TranscriptSink : IEngineSink
{
    public List<string> Lines { get; } = [];

    /// <summary>Every close reported, kept across <see cref="Take"/> for censuses.</summary>
    public List<TradeClosed> Closed { get; } = [];

    public void OnReply(in CommandReply reply) => Lines.Add(Describe(in reply));
    public void OnAccountCreated(in AccountCreated e) => Lines.Add(e.ToString());
    public void OnTradeOpened(in TradeOpened e) => Lines.Add(e.ToString());

    public void OnTradeClosed(in TradeClosed e)
    {
        Lines.Add(e.ToString());
        Closed.Add(e);
    }

    public void OnBalanceChanged(in BalanceChanged e) => Lines.Add(e.ToString());

    /// <summary>The reply with its open-trade list spelled out (a record prints only the list's type).</summary>
    public static string Describe(in CommandReply reply) =>
        reply.OpenTrades is null ? reply.ToString() : $"{reply with { OpenTrades = null }} OpenTrades [{string.Join("; ", reply.OpenTrades)}]";

    /// <summary>Takes the lines reported so far (with whether the input was applied) and starts afresh.</summary>
    public string Take(bool applied)
    {
        var text = $"applied={applied}\n{string.Join("\n", Lines)}";
        Lines.Clear();
        return text;
    }
}

/// <summary>Runs workloads and checks the ledger invariants of DESIGN §2.1–2.2 on the engine's public state.</summary>
public static class WorkloadRunner
{
    public static EngineConfig Config { get; } = new();

    public static string Describe(in EngineInput input) => input.Kind switch
    {
        InputKind.PriceTick => $"#{input.Sequence} @{input.TimestampMs} TICK asset={input.Asset.Index} bid={input.Bid} ask={input.Ask}",
        InputKind.CreateTrade => $"#{input.Sequence} @{input.TimestampMs} CREATE_TRADE user={input.User} id={input.TradeId} {input.Symbol} {input.Direction} " +
            $"margin={input.Margin} lev={input.Leverage} sl={input.StopLossPrice} tp={input.TakeProfitPrice}",
        InputKind.CloseTrade => $"#{input.Sequence} @{input.TimestampMs} CLOSE_TRADE user={input.User} id={input.TradeId}",
        _ => $"#{input.Sequence} @{input.TimestampMs} {input.Kind} user={input.User}",
    };

    /// <summary>Applies inputs[from..to) and returns one transcript entry per input.</summary>
    public static List<string> Run(TradingEngine engine, IReadOnlyList<EngineInput> inputs, int from = 0, int? to = null,
        Action<int>? afterEach = null, TranscriptSink? sink = null)
    {
        sink ??= new TranscriptSink();
        var transcript = new List<string>();
        for (var i = from; i < (to ?? inputs.Count); i++)
        {
            var input = inputs[i];
            var applied = engine.Apply(in input, sink);
            transcript.Add(sink.Take(applied));
            afterEach?.Invoke(i);
        }
        return transcript;
    }

    public static void Fail(IReadOnlyList<EngineInput> inputs, int index, string what)
    {
        var input = inputs[index];
        Assert.Fail($"After input {index} ({Describe(in input)}): {what}");
    }

    /// <summary>Σ free + Σ locked + insurance fund + house PnL == Σ deposits, to the cent; and locked == Σ open margins.</summary>
    public static void AssertMoneyConserved(TradingEngine engine, IReadOnlyList<EngineInput> inputs, int index)
    {
        var image = engine.CaptureImage();
        long free = 0, locked = 0;
        foreach (var a in image.Accounts)
        {
            free += a.Free.Cents;
            locked += a.Locked.Cents;
        }
        var total = free + locked + image.InsuranceFund.Cents + image.HousePnl.Cents;
        if (total != image.TotalDeposits.Cents)
        {
            Fail(inputs, index, $"free {free} + locked {locked} + insurance {image.InsuranceFund.Cents} + house {image.HousePnl.Cents} " +
                $"= {total} cents, deposits {image.TotalDeposits.Cents}");
        }
        if (image.TotalDeposits.Cents != image.Accounts.Length * Config.InitialBalance.Cents)
            Fail(inputs, index, $"deposits {image.TotalDeposits} for {image.Accounts.Length} accounts");

        var margins = image.Trades().GroupBy(t => t.Owner).ToDictionary(g => g.Key, g => g.Sum(t => t.Margin.Cents));
        foreach (var a in image.Accounts)
        {
            var open = margins.GetValueOrDefault(a.User);
            if (a.Locked.Cents != open) Fail(inputs, index, $"{a.User} has {a.Locked} locked but {open} cents of open margin");
        }
    }

    public static void AssertNoNegativeBalance(TradingEngine engine, IReadOnlyList<EngineInput> inputs, int index)
    {
        foreach (var a in engine.CaptureImage().Accounts)
        {
            if (a.Free.Cents < 0 || a.Locked.Cents < 0) Fail(inputs, index, $"{a.User} has free {a.Free}, locked {a.Locked}");
            if (engine.BalanceOf(a.User) is not { } b || b.Equity.Cents < b.Free.Cents)
                Fail(inputs, index, $"{a.User} has equity below its free balance");
        }
    }

    /// <summary>
    /// No open trade is at or beyond its liquidation price (LONG bid > liq, SHORT ask &lt; liq) at
    /// any time; and right after a tick is applied to an asset, none of that asset's trades has its
    /// stop-loss or take-profit reached either.
    /// </summary>
    public static void AssertNothingLeftBeyondItsTriggers(TradingEngine engine, IReadOnlyList<EngineInput> inputs, int index)
    {
        var input = inputs[index];
        var tickApplied = input.Kind == InputKind.PriceTick && input.Asset.Index is >= 0 and < 3 &&
            engine.Bid(input.Asset) == input.Bid && engine.Ask(input.Asset) == input.Ask && engine.LastSequence == input.Sequence;
        foreach (var t in engine.AllOpenTrades())
        {
            var bid = engine.Bid(t.Asset);
            var ask = engine.Ask(t.Asset);
            if (t.Direction == Direction.Long ? bid <= t.LiquidationPrice : ask >= t.LiquidationPrice)
                Fail(inputs, index, $"open {t.Direction} {t.Id} liq {t.LiquidationPrice} with book {bid}/{ask}");
            if (!tickApplied || t.Asset != input.Asset) continue;
            var closing = t.Direction == Direction.Long ? bid : ask;
            var stopHit = t.StopLoss.IsSet && (t.Direction == Direction.Long ? closing <= t.StopLoss : closing >= t.StopLoss);
            var takeHit = t.TakeProfit.IsSet && (t.Direction == Direction.Long ? closing >= t.TakeProfit : closing <= t.TakeProfit);
            if (stopHit || takeHit)
                Fail(inputs, index, $"open {t.Direction} {t.Id} sl {t.StopLoss} tp {t.TakeProfit} survived a tick at {bid}/{ask}");
        }
    }

    /// <summary>Runs the engine and the reference model side by side, failing at the first input they disagree on.</summary>
    public static (TradingEngine Engine, ReferenceEngine Reference, List<string> Transcript) RunAgainstReference(
        IReadOnlyList<EngineInput> inputs, Action<TradingEngine, int>? check = null)
    {
        var engine = new TradingEngine(Config);
        var reference = new ReferenceEngine(Config);
        var engineSink = new TranscriptSink();
        var referenceSink = new TranscriptSink();
        var transcript = new List<string>(inputs.Count);
        for (var i = 0; i < inputs.Count; i++)
        {
            var input = inputs[i];
            var actual = engineSink.Take(engine.Apply(in input, engineSink));
            var expected = referenceSink.Take(reference.Apply(in input, referenceSink));
            if (actual != expected) Fail(inputs, i, $"the engine and the reference model disagree.\nreference:\n{expected}\nengine:\n{actual}");
            transcript.Add(actual);
            check?.Invoke(engine, i);
        }
        AssertSameState(engine, reference);
        return (engine, reference, transcript);
    }

    /// <summary>Balances, insurance fund, house PnL, deposits, open trades: field by field, then the whole state by hash.</summary>
    public static void AssertSameState(TradingEngine engine, ReferenceEngine reference)
    {
        var actual = engine.CaptureImage();
        var expected = reference.CaptureImage();
        Assert.Equal(expected.InsuranceFund, actual.InsuranceFund);
        Assert.Equal(expected.HousePnl, actual.HousePnl);
        Assert.Equal(expected.TotalDeposits, actual.TotalDeposits);
        Assert.Equal(expected.Accounts.OrderBy(a => a.User), actual.Accounts.OrderBy(a => a.User));
        Assert.Equal(expected.Trades().OrderBy(t => t.Id), actual.Trades().OrderBy(t => t.Id));
        Assert.Equal(StateCodec.Hash(expected), StateCodec.Hash(actual));
        foreach (var a in expected.Accounts)
        {
            var balance = engine.BalanceOf(a.User);
            Assert.NotNull(balance);
            Assert.Equal((a.Free, a.Locked), (balance.Value.Free, balance.Value.Locked));
        }
    }
}
