using Exchange.Engine;

namespace Exchange.Data.Tests;

/// <summary>Collects what the engine reports, boxing events the way the engine host hands them on.</summary>
public sealed class BoxingSink : IEngineSink
{
    public List<object> Events { get; } = [];
    public CommandReply LastReply { get; private set; }

    public void OnReply(in CommandReply reply) => LastReply = reply;
    public void OnAccountCreated(in AccountCreated e) => Events.Add(e);
    public void OnTradeOpened(in TradeOpened e) => Events.Add(e);
    public void OnTradeClosed(in TradeClosed e) => Events.Add(e);
    public void OnBalanceChanged(in BalanceChanged e) => Events.Add(e);
}

/// <summary>
/// Drives a real engine as the log would (next sequence, a clock a second apart, an order id
/// per command), so the recorder sees exactly the events a live run produces.
/// </summary>
public sealed class EngineScript
{
    public static readonly AssetId Btc = new(0);
    public static readonly AssetId Eth = new(1);

    private long _sequence;
    private int _orders;

    /// <summary>The highest event sequence among <paramref name="events"/>.</summary>
    public static long LastSequence(IEnumerable<object> events) => events.Max(e => e switch
    {
        TradeOpened o => o.Header.EventSequence,
        TradeClosed c => c.Header.EventSequence,
        BalanceChanged b => b.Header.EventSequence,
        AccountCreated a => a.Header.EventSequence,
        _ => 0,
    });

    public TradingEngine Engine { get; } = new(new EngineConfig());
    public BoxingSink Sink { get; } = new();
    public long Now { get; private set; } = 1_700_000_000_000;
    public List<object> Events => Sink.Events;

    public static UserId User(int n) => new(new Guid(n, 0, 0, new byte[8]));

    public static TradeId Trade(ulong n) => new(new UInt128(0xABCD, n));

    public Guid NextOrderId() => new(++_orders, 1, 1, new byte[8]);

    public CommandReply CreateAccount(UserId user) =>
        Apply(EngineInput.CreateAccount(++_sequence, Now, user, NextOrderId()));

    public void Tick(AssetId asset, decimal bid, decimal ask)
    {
        Now += 1000;
        Apply(EngineInput.Tick(++_sequence, Now, asset, Price.FromDecimal(bid), Price.FromDecimal(ask)));
    }

    public CommandReply Open(UserId user, TradeId id, string symbol, Direction direction, decimal margin, decimal leverage,
        decimal? stopLoss = null, decimal? takeProfit = null)
    {
        var reply = Apply(EngineInput.CreateTrade(++_sequence, Now, user, id, symbol, direction, margin, leverage,
            stopLoss, takeProfit, NextOrderId()));
        Assert.True(reply.Accepted, reply.Code.Name());
        return reply;
    }

    public CommandReply Close(UserId user, TradeId id)
    {
        var reply = Apply(EngineInput.CloseTrade(++_sequence, Now, user, id, NextOrderId()));
        Assert.True(reply.Accepted, reply.Code.Name());
        return reply;
    }

    private CommandReply Apply(EngineInput input)
    {
        Engine.Apply(in input, Sink);
        return Sink.LastReply;
    }

    /// <summary>
    /// Two traders: A goes LONG on BTC and closes by hand at a profit of 420.83; B goes SHORT
    /// on ETH with a stop-loss that the next tick fires.
    /// </summary>
    public static EngineScript TwoTraders()
    {
        var s = new EngineScript();
        s.CreateAccount(User(1));
        s.CreateAccount(User(2));
        s.Tick(Btc, 96_420.00m, 96_425.00m);
        s.Tick(Eth, 3_500.00m, 3_500.50m);
        s.Open(User(1), Trade(1), "BTC_USDC", Direction.Long, margin: 500m, leverage: 10m, stopLoss: 90_000m, takeProfit: 110_000m);
        s.Open(User(2), Trade(2), "ETH_USDC", Direction.Short, margin: 100m, leverage: 5m, stopLoss: 3_600m);
        s.Tick(Btc, 104_540.80m, 104_545.00m);
        s.Close(User(1), Trade(1));
        s.Tick(Eth, 3_601.00m, 3_601.50m);
        return s;
    }
}
