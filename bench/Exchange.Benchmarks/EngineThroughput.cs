using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using Exchange.Engine;

namespace Exchange.Benchmarks;

/// <summary>
/// Command throughput of the engine alone: CREATE_TRADE and CLOSE_TRADE alternating across
/// 10,000 accounts. Each account always holds one open trade: every round opens a new trade
/// on each account (fresh trade id) and closes that account's previous one, so the engine
/// sits at a steady 10,000 open trades with their triggers in the heaps.
/// The inputs are built once; the loop only stamps what the log and server would stamp
/// (sequence and trade id). Timestamps do not advance, so prices never go stale.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(Config))]
public class EngineThroughput
{
    public const int Accounts = 10_000;
    public const int CommandsPerInvoke = 2 * Accounts;

    private sealed class Config : ManualConfig
    {
        public Config() => AddColumn(StatisticColumn.Median, StatisticColumn.OperationsPerSecond);
    }

    private readonly NoOpSink _sink = new();
    private TradingEngine _engine = null!;
    private EngineInput[] _opens = null!;
    private EngineInput[] _closes = null!;
    private TradeId[] _openTradeOf = null!;
    private TradeId[] _tradeIds = null!;
    private long _sequence;
    private int _nextTradeId;

    [GlobalSetup]
    public void Setup()
    {
        _engine = new TradingEngine(new EngineConfig());
        var check = new CheckingSink();
        Market.Open(_engine, ref _sequence, Accounts, check);

        _opens = new EngineInput[Accounts];
        _closes = new EngineInput[Accounts];
        _openTradeOf = new TradeId[Accounts];
        _tradeIds = ServerLikeTradeIds(1 << 20);
        for (var i = 0; i < Accounts; i++)
        {
            var user = Market.User(i);
            var asset = i % 3;
            var direction = (i / 3) % 2 == 0 ? Direction.Long : Direction.Short;
            var isLong = direction == Direction.Long;
            var open = isLong ? Market.Books[asset].Ask : Market.Books[asset].Bid;
            decimal? stopLoss = null, takeProfit = null;
            // A quarter carry a stop-loss, a quarter a take-profit, a quarter both.
            if (i % 4 is 0 or 2) stopLoss = Math.Round(open * (isLong ? 0.95m : 1.05m), 2);
            if (i % 4 is 1 or 2) takeProfit = Math.Round(open * (isLong ? 1.05m : 0.95m), 2);
            _opens[i] = EngineInput.CreateTrade(0, Market.Now, user, default, Market.Symbols[asset], direction,
                margin: 10 + i % 50, leverage: 1 + i % 100, stopLoss, takeProfit);
            _closes[i] = EngineInput.CloseTrade(0, Market.Now, user, default);
        }

        // The first round opens one trade per account; the second proves a full round is
        // accepted end to end before anything is timed.
        for (var i = 0; i < Accounts; i++)
        {
            ref var open = ref _opens[i];
            open.Sequence = ++_sequence;
            open.TradeId = NextTradeId();
            _engine.Apply(in open, check);
            _openTradeOf[i] = open.TradeId;
        }
        Round(check);
        check.Expect(replies: Accounts * 2L + CommandsPerInvoke, closed: Accounts, nameof(EngineThroughput));
    }

    /// <summary>
    /// Ids as the server stamps them: 48 bits of milliseconds, then random bits (fixed seed).
    /// Sequential ids would flatter a table that hashes them into neighbouring buckets.
    /// </summary>
    private static TradeId[] ServerLikeTradeIds(int count)
    {
        var random = new Random(20261203);
        var ids = new TradeId[count];
        for (var i = 0; i < count; i++)
        {
            var ms = (ulong)(Market.Now + i / 2_000); // 2,000 trades a millisecond
            ids[i] = new TradeId(new UInt128((ms << 16) | (uint)random.Next(1 << 16), (ulong)random.NextInt64()));
        }
        return ids;
    }

    // Cycles through a million ids: each is long closed before it comes round again.
    private TradeId NextTradeId() => _tradeIds[_nextTradeId++ & (_tradeIds.Length - 1)];

    [GlobalCleanup]
    public void Cleanup()
    {
        if (_engine.OpenTradeCount != Accounts)
            throw new InvalidOperationException($"Expected {Accounts} open trades after the run, found {_engine.OpenTradeCount}.");
    }

    [Benchmark(OperationsPerInvoke = CommandsPerInvoke)]
    public void OpenAndClose() => Round(_sink);

    private void Round(IEngineSink sink)
    {
        var engine = _engine;
        var opens = _opens;
        var closes = _closes;
        var openTradeOf = _openTradeOf;
        for (var i = 0; i < opens.Length; i++)
        {
            ref var open = ref opens[i];
            open.Sequence = ++_sequence;
            open.TradeId = NextTradeId();
            engine.Apply(in open, sink);

            ref var close = ref closes[i];
            close.Sequence = ++_sequence;
            close.TradeId = openTradeOf[i];
            openTradeOf[i] = open.TradeId;
            engine.Apply(in close, sink);
        }
    }
}
