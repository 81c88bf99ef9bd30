using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using Exchange.Engine;

namespace Exchange.Benchmarks;

/// <summary>
/// A price tick against 1,000,000 open trades that it does not fire: the engine looks at the
/// top of four trigger heaps (DESIGN §2.3), while a naive engine checks every open trade.
/// Ticks rotate over BTC, ETH and SOL and move the book by a few cents each time, never
/// reaching a stop, take-profit or liquidation price.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(Config))]
public class TickProcessing
{
    private sealed class Config : ManualConfig
    {
        public Config() => AddColumn(StatisticColumn.Median);
    }

    public const int Accounts = 10_000;
    public const int Trades = 1_000_000;

    /// <summary>A naive engine's view of one trade: its two trigger prices, packed tight.</summary>
    private struct Triggers
    {
        public long Stop;
        public long TakeProfit;
        public int Asset;
        public bool IsLong;
    }

    private readonly NoOpSink _sink = new();
    private TradingEngine _engine = null!;
    private EngineInput[] _ticks = null!;
    private Triggers[] _triggers = null!;
    private long _sequence;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _engine = new TradingEngine(new EngineConfig());
        var check = new CheckingSink();
        Market.Open(_engine, ref _sequence, Accounts, check);

        for (var i = 0; i < Trades; i++)
        {
            var asset = i % 3;
            var direction = (i / 3) % 2 == 0 ? Direction.Long : Direction.Short;
            var isLong = direction == Direction.Long;
            var open = isLong ? Market.Books[asset].Ask : Market.Books[asset].Bid;
            var distance = 0.01m * (1 + i % 10); // 1 % .. 10 % from the open price
            decimal? stopLoss = null, takeProfit = null;
            // A fifth carry a stop-loss, a fifth a take-profit, a fifth both; leverage 1x..100x.
            if (i % 5 is 0 or 2) stopLoss = Math.Round(open * (isLong ? 1 - distance : 1 + distance), 2);
            if (i % 5 is 1 or 2) takeProfit = Math.Round(open * (isLong ? 1 + distance : 1 - distance), 2);
            _engine.Apply(EngineInput.CreateTrade(++_sequence, Market.Now, Market.User(i % Accounts),
                new TradeId((UInt128)i + 1), Market.Symbols[asset], direction,
                margin: 5 + i % 30, leverage: 1 + i * 7 % 100, stopLoss, takeProfit), check);
        }
        check.Expect(replies: Accounts + Trades, closed: 0, nameof(TickProcessing));

        // Two books per asset a few cents apart; the nearest trigger (100x liquidation) is ~0.5 % away.
        _ticks = new EngineInput[6];
        for (var a = 0; a < 3; a++)
        {
            var (bid, ask) = Market.Books[a];
            var step = bid * 0.0001m;
            _ticks[2 * a] = EngineInput.Tick(0, Market.Now, new AssetId(a), Price.FromDecimal(bid + step), Price.FromDecimal(ask + step));
            _ticks[2 * a + 1] = EngineInput.Tick(0, Market.Now, new AssetId(a), Price.FromDecimal(bid - step), Price.FromDecimal(ask - step));
        }

        _triggers = new Triggers[Trades];
        var n = 0;
        foreach (var t in _engine.AllOpenTrades())
        {
            var isLong = t.Direction == Direction.Long;
            var stop = t.StopLoss.IsSet && (isLong ? t.StopLoss > t.LiquidationPrice : t.StopLoss < t.LiquidationPrice)
                ? t.StopLoss : t.LiquidationPrice;
            _triggers[n++] = new Triggers { Stop = stop.Raw, TakeProfit = t.TakeProfit.Raw, Asset = t.Asset.Index, IsLong = isLong };
        }
        for (var i = 0; i < _ticks.Length; i++)
        {
            if (Scan(in _ticks[i]) != 0) throw new InvalidOperationException($"Tick {i} would fire a trade.");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        if (_engine.OpenTradeCount != Trades)
            throw new InvalidOperationException($"A tick fired: {_engine.OpenTradeCount} trades open, expected {Trades}.");
    }

    private ref EngineInput NextTick()
    {
        var i = _next;
        _next = i == 5 ? 0 : i + 1;
        // Order 0,2,4,1,3,5: rotate assets, and each asset's book alternates between its two prices.
        return ref _ticks[i < 3 ? 2 * i : 2 * (i - 3) + 1];
    }

    [Benchmark(Baseline = true)]
    public bool EngineTick()
    {
        ref var tick = ref NextTick();
        tick.Sequence = ++_sequence;
        return _engine.Apply(in tick, _sink);
    }

    /// <summary>What a tick costs an engine that checks every open trade, without even settling anything.</summary>
    [Benchmark]
    public int FullScan() => Scan(in NextTick());

    private int Scan(in EngineInput tick)
    {
        var asset = tick.Asset.Index;
        var bid = tick.Bid.Raw;
        var ask = tick.Ask.Raw;
        var fired = 0;
        foreach (ref readonly var t in _triggers.AsSpan())
        {
            if (t.Asset != asset) continue;
            var hit = t.IsLong
                ? bid <= t.Stop || (t.TakeProfit > 0 && bid >= t.TakeProfit)
                : ask >= t.Stop || (t.TakeProfit > 0 && ask <= t.TakeProfit);
            if (hit) fired++;
        }
        return fired;
    }
}
