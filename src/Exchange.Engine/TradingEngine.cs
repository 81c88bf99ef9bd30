namespace Exchange.Engine;

/// <summary>
/// The single-writer trading state machine of DESIGN §2: applies a totally ordered sequence
/// of commands and price ticks and reports replies and events to a sink. No clock, no
/// randomness, no I/O, no locks: the same inputs always give the same outputs and state.
/// </summary>
public sealed partial class TradingEngine
{
    private readonly EngineConfig _config;
    private readonly Market[] _markets;
    private readonly Accounts _accounts = new();
    private readonly OpenTrades _trades = new();
    private readonly TriggerPositions _stopPositions = new();
    private readonly TriggerPositions _takeProfitPositions = new();
    private long _eventSequence;

    public TradingEngine(EngineConfig config)
    {
        _config = config;
        _markets = new Market[config.Assets.Count];
        for (var i = 0; i < _markets.Length; i++) _markets[i] = new Market(config.Assets[i], _stopPositions, _takeProfitPositions);
    }

    public EngineConfig Config => _config;

    /// <summary>Sequence of the last state-changing input applied.</summary>
    public long LastSequence { get; private set; }
    public long LastEventSequence => _eventSequence;

    /// <summary>Leftover equity of liquidations less the losses it covered beyond margins.</summary>
    public Usd InsuranceFund { get; private set; }

    /// <summary>The house's realized result as counterparty: the negative of traders' realized PnL.</summary>
    public Usd HousePnl { get; private set; }

    /// <summary>All demo money ever credited.</summary>
    public Usd TotalDeposits { get; private set; }

    public int OpenTradeCount => _trades.Count;
    public int AccountCount => _accounts.Count;

    /// <summary>
    /// Applies one input. Returns false, changing nothing and reporting nothing, when a
    /// state-changing input's sequence is not after <see cref="LastSequence"/>: it was already
    /// applied (a replay overlapping a snapshot), so applying it again would duplicate it.
    /// </summary>
    public bool Apply(in EngineInput input, IEngineSink sink)
    {
        if (input.IsQuery)
        {
            ApplyQuery(in input, sink);
            return true;
        }
        if (input.Sequence <= LastSequence) return false;
        LastSequence = input.Sequence;
        switch (input.Kind)
        {
            case InputKind.PriceTick: ApplyTick(in input, sink); break;
            case InputKind.CreateAccount: CreateAccount(in input, sink); break;
            case InputKind.CreateTrade: CreateTrade(in input, sink); break;
            case InputKind.CloseTrade: CloseTrade(in input, sink); break;
            default: Reject(in input, RejectCode.UnknownCommand, sink); break;
        }
        return true;
    }

    public Price Bid(AssetId asset) => _markets[asset.Index].Bid;
    public Price Ask(AssetId asset) => _markets[asset.Index].Ask;

    private void CreateAccount(in EngineInput input, IEngineSink sink)
    {
        if (_accounts.Contains(input.User))
        {
            Reject(in input, RejectCode.AccountExists, sink);
            return;
        }
        var account = new Account(input.User, _config.InitialBalance);
        _accounts.Add(account);
        TotalDeposits += _config.InitialBalance;
        sink.OnAccountCreated(new AccountCreated(NextHeader(in input), input.User, _config.InitialBalance));
        sink.OnBalanceChanged(new BalanceChanged(NextHeader(in input), input.User, account.Free, account.Locked));
        sink.OnReply(Accepted(in input) with
        {
            InitialBalance = _config.InitialBalance,
            Free = account.Free,
            Equity = account.Free,
        });
    }

    private EventHeader NextHeader(in EngineInput input) =>
        new(++_eventSequence, input.Sequence, input.TimestampMs, input.OrderId);

    private static CommandReply Accepted(in EngineInput input) =>
        new() { Kind = input.Kind, Sequence = input.Sequence, OrderId = input.OrderId, User = input.User };

    private static void Reject(in EngineInput input, RejectCode code, IEngineSink sink) =>
        sink.OnReply(Accepted(in input) with { Code = code });

    /// <summary>Per asset: the latest book and the four trigger heaps of DESIGN §2.3.</summary>
    private sealed class Market(AssetSpec spec, TriggerPositions stops, TriggerPositions takeProfits)
    {
        public AssetSpec Spec { get; } = spec;
        public Price Bid;
        public Price Ask;
        public long PriceTimestampMs;

        /// <summary>LONG stop-loss or liquidation, whichever is higher: fires as the bid falls to it.</summary>
        public readonly TriggerHeap LongStops = new(highestFirst: true, stops);
        /// <summary>LONG take-profit: fires as the bid rises to it.</summary>
        public readonly TriggerHeap LongTakeProfits = new(highestFirst: false, takeProfits);
        /// <summary>SHORT stop-loss or liquidation, whichever is lower: fires as the ask rises to it.</summary>
        public readonly TriggerHeap ShortStops = new(highestFirst: false, stops);
        /// <summary>SHORT take-profit: fires as the ask falls to it.</summary>
        public readonly TriggerHeap ShortTakeProfits = new(highestFirst: true, takeProfits);

        public bool HasPrice => Bid.IsSet;

        public TriggerHeap StopsOf(Direction direction) => direction == Direction.Long ? LongStops : ShortStops;
        public TriggerHeap TakeProfitsOf(Direction direction) => direction == Direction.Long ? LongTakeProfits : ShortTakeProfits;

        public void BeginBulkLoad()
        {
            LongStops.BeginBulkLoad();
            LongTakeProfits.BeginBulkLoad();
            ShortStops.BeginBulkLoad();
            ShortTakeProfits.BeginBulkLoad();
        }

        public void EndBulkLoad()
        {
            LongStops.EndBulkLoad();
            LongTakeProfits.EndBulkLoad();
            ShortStops.EndBulkLoad();
            ShortTakeProfits.EndBulkLoad();
        }

        public Price ClosingPrice(Direction direction) => direction == Direction.Long ? Bid : Ask;
    }
}
