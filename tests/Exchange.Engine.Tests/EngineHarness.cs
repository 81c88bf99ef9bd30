namespace Exchange.Engine.Tests;

/// <summary>Records everything the engine reports, in order.</summary>
public sealed class RecordingSink : IEngineSink
{
    public List<CommandReply> Replies { get; } = [];
    public List<object> Events { get; } = [];

    public CommandReply LastReply => Replies[^1];
    public IEnumerable<TradeClosed> Closed => Events.OfType<TradeClosed>();

    public void OnReply(in CommandReply reply) => Replies.Add(reply);
    public void OnAccountCreated(in AccountCreated e) => Events.Add(e);
    public void OnTradeOpened(in TradeOpened e) => Events.Add(e);
    public void OnTradeClosed(in TradeClosed e) => Events.Add(e);
    public void OnBalanceChanged(in BalanceChanged e) => Events.Add(e);

    public void Clear()
    {
        Replies.Clear();
        Events.Clear();
    }
}

/// <summary>
/// Drives an engine the way the log would: every input gets the next sequence number and a
/// timestamp that advances by one second unless told otherwise. Builders have defaults so a
/// test names only what it is about.
/// </summary>
public sealed class EngineHarness
{
    public static readonly AssetId Btc = new(0);
    public static readonly AssetId Eth = new(1);
    public static readonly AssetId Sol = new(2);

    private long _sequence;
    private ulong _nextTradeId = 1;

    public EngineHarness(EngineConfig? config = null) => Engine = new TradingEngine(config ?? new EngineConfig());

    public TradingEngine Engine { get; }
    public RecordingSink Sink { get; } = new();
    public long Now { get; set; } = 1_700_000_000_000;

    public static UserId User(int n) => new(new Guid(n, 0, 0, new byte[8]));

    public CommandReply Apply(EngineInput input)
    {
        Sink.Clear();
        Engine.Apply(in input, Sink);
        return Sink.Replies.Count > 0 ? Sink.LastReply : default;
    }

    public long NextSequence() => ++_sequence;

    public CommandReply CreateAccount(UserId user) => Apply(EngineInput.CreateAccount(NextSequence(), Now, user));

    public CommandReply Tick(AssetId asset, decimal bid, decimal ask, long advanceMs = 1000)
    {
        Now += advanceMs;
        Apply(EngineInput.Tick(NextSequence(), Now, asset, Price.FromDecimal(bid), Price.FromDecimal(ask)));
        return default;
    }

    public CommandReply Open(UserId user, string symbol, Direction direction, decimal margin, decimal leverage,
        decimal? stopLoss = null, decimal? takeProfit = null, TradeId? id = null) =>
        Apply(EngineInput.CreateTrade(NextSequence(), Now, user, id ?? new TradeId(_nextTradeId++), symbol,
            direction, margin, leverage, stopLoss, takeProfit));

    public CommandReply Close(UserId user, TradeId trade) => Apply(EngineInput.CloseTrade(NextSequence(), Now, user, trade));

    public CommandReply Balance(UserId user) => Apply(EngineInput.Query(InputKind.GetBalance, Now, user));

    public CommandReply OpenTrades(UserId user) => Apply(EngineInput.Query(InputKind.GetOpenTrades, Now, user));
}
