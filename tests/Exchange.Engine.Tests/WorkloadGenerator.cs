using CsCheck;

namespace Exchange.Engine.Tests;

/// <summary>How a generated price tick looks: a small random-walk step, a gap, or a tick the engine must ignore.</summary>
public enum TickShape : byte
{
    Walk,
    Gap,
    Crossed,
    ZeroBid,
    UnknownAsset,
    /// <summary>
    /// The closing-side price exactly at, or one 1e-8 step either side of, the liquidation,
    /// stop-loss or take-profit level of a recent trade: the boundaries of the trigger rules.
    /// </summary>
    AtLevel,
}

/// <summary>How a generated stop-loss or take-profit is written.</summary>
public enum TriggerStyle : byte
{
    None,
    /// <summary>Bps away from the mid on the profit side (TP) or loss side (SL); negative bps put it on the wrong side.</summary>
    Offset,
    TooPrecise,
    Zero,
    Negative,
    TooHigh,
}

public enum CloseTarget : byte
{
    Own,
    Others,
    Unknown,
}

public readonly record struct Trigger(TriggerStyle Style, int Bps)
{
    public override string ToString() => Style == TriggerStyle.Offset ? $"{Bps}bps" : Style.ToString();
}

/// <summary>
/// One step of a generated workload, abstract enough to shrink well: prices, trade ids and
/// trigger prices are derived from it by <see cref="Workload.Build"/>.
/// </summary>
public abstract record Op(int DelayMs);

public sealed record CreateAccountOp(int DelayMs, int User) : Op(DelayMs);

/// <summary>Symbol: 0..2 the configured assets, 3 a lower-case alias, 4 an unknown symbol, 5 none.</summary>
public sealed record OpenTradeOp(
    int DelayMs, int User, int Symbol, Direction Direction, decimal Leverage, decimal Margin,
    Trigger StopLoss, Trigger TakeProfit, bool ReuseId) : Op(DelayMs);

public sealed record CloseTradeOp(int DelayMs, int User, CloseTarget Target, int Pick) : Op(DelayMs);

public sealed record QueryOp(int DelayMs, int User, InputKind Kind) : Op(DelayMs);

/// <summary>
/// MovePpm moves the asset's mid (random walk); SpreadPpm is the bid/ask spread around it.
/// For <see cref="TickShape.AtLevel"/>, MovePpm picks the level and SpreadPpm mod 3 the step (−1, 0, +1).
/// </summary>
public sealed record TickOp(int DelayMs, int Asset, TickShape Shape, int MovePpm, int SpreadPpm) : Op(DelayMs);

/// <summary>Sends the last state-changing input again, with its old sequence: the engine must ignore it.</summary>
public sealed record ReplayOp(int DelayMs) : Op(DelayMs);

public sealed record UnknownCommandOp(int DelayMs, int User) : Op(DelayMs);

/// <summary>Random workloads for the property tests: shapes of operations, and the concrete inputs built from them.</summary>
public static class WorkloadGenerator
{
    public const int Users = 6;

    private static readonly Gen<int> Delay = Gen.Frequency(
        (40, Gen.Int[0, 1_500]),
        (1, Gen.Int[10_001, 40_000]));

    private static readonly Gen<decimal> Leverage = Gen.Frequency<decimal>(
        (6, Gen.OneOf(1m, 2m, 3m, 5m, 10m, 20m, 25m, 50m, 75m, 100m)),
        (3, Gen.Int[1, 100].Select(i => (decimal)i)),
        (1, Gen.OneOf(0m, 101m, 2.5m, -3m, 100.5m, 1_000m, 10.000m)));

    private static readonly Gen<decimal> Margin = Gen.Frequency<decimal>(
        (3, Gen.Int[100, 5_000].Select(cents => cents / 100m)),
        (3, Gen.Int[5_000, 50_000].Select(cents => cents / 100m)),
        (2, Gen.Int[50_000, 200_000].Select(cents => cents / 100m)),
        (2, Gen.OneOf(1m, 10m, 100m, 1_000m, 2_500m, 4_999.99m, 5_000m)),
        (1, Gen.OneOf(0m, -1m, 0.99m, 0.5m, 10.001m, 1e12m, 5_000.01m, 25_000m, 100.10m)));

    private static readonly Gen<Trigger> TriggerGen = Gen.Frequency<Trigger>(
        (8, Gen.Const(new Trigger(TriggerStyle.None, 0))),
        (6, Gen.Frequency((5, Gen.Int[5, 3_000]), (1, Gen.Int[-100, 4])).Select(bps => new Trigger(TriggerStyle.Offset, bps))),
        (1, Gen.OneOf(TriggerStyle.TooPrecise, TriggerStyle.Zero, TriggerStyle.Negative, TriggerStyle.TooHigh)
            .Select(style => new Trigger(style, 100))));

    private static readonly Gen<Direction> DirectionGen = Gen.Frequency(
        (20, Direction.Long), (20, Direction.Short), (1, (Direction)0), (1, (Direction)7));

    private static readonly Gen<int> Move = Gen.Frequency(
        (12, Gen.Int[-8_000, 8_000]),
        (2, Gen.Int[200_000, 600_000].Select(m => -m)),
        (1, Gen.Int[200_000, 600_000]));

    private static readonly Gen<int> Spread = Gen.Frequency(
        (10, Gen.Int[0, 2_000]),
        (1, Gen.Int[5_000, 30_000]));

    private static readonly Gen<Op> Tick =
        Gen.Select(Delay, Gen.Int[0, 2],
            Gen.Frequency((40, TickShape.Walk), (3, TickShape.Gap), (1, TickShape.Crossed), (1, TickShape.ZeroBid), (1, TickShape.UnknownAsset),
                (4, TickShape.AtLevel)),
            Move, Spread,
            (d, a, s, m, sp) => (Op)new TickOp(d, a, s, s == TickShape.Gap ? m : Math.Clamp(m, -8_000, 8_000), sp));

    private static readonly Gen<Op> Replay = Delay.Select(d => (Op)new ReplayOp(d));

    /// <summary>One operation by one of <paramref name="users"/> traders (or a tick, replay, …).</summary>
    public static Gen<Op> Operations(int users)
    {
        var user = Gen.Int[0, users - 1];
        var createAccount = Gen.Select(Delay, user, (d, u) => (Op)new CreateAccountOp(d, u));
        var openTrade = Gen.Select(
            Gen.Select(Delay, user, Gen.Frequency((30, Gen.Int[0, 2]), (1, Gen.Int[3, 5])), DirectionGen),
            Gen.Select(Leverage, Margin, TriggerGen, TriggerGen, Gen.Frequency((40, false), (1, true))),
            (a, b) => (Op)new OpenTradeOp(a.Item1, a.Item2, a.Item3, a.Item4, b.Item1, b.Item2, b.Item3, b.Item4, b.Item5));
        var closeTrade = Gen.Select(Delay, user,
            Gen.Frequency((8, CloseTarget.Own), (1, CloseTarget.Others), (1, CloseTarget.Unknown)), Gen.Int[0, 1_000],
            (d, u, t, p) => (Op)new CloseTradeOp(d, u, t, p));
        var query = Gen.Select(Delay, user, Gen.OneOf(InputKind.GetBalance, InputKind.GetUsdBalance, InputKind.GetOpenTrades),
            (d, u, k) => (Op)new QueryOp(d, u, k));
        var unknownCommand = Gen.Select(Delay, user, (d, u) => (Op)new UnknownCommandOp(d, u));
        return Gen.Frequency<Op>(
            (3, createAccount),
            (10, openTrade),
            (5, closeTrade),
            (3, query),
            (16, Tick),
            (1, Replay),
            (1, unknownCommand));
    }

    public static readonly Gen<Op> Operation = Operations(Users);

    /// <summary>A workload of up to <paramref name="maxLength"/> operations.</summary>
    public static Gen<Op[]> Workload(int maxLength = 200) => Operation.Array[1, maxLength];

    public static string Print(Op[] ops) => $"{ops.Length} ops:\n" + string.Join("\n", ops.Select((op, i) => $"  {i}: {op}"));
}

/// <summary>
/// The concrete inputs of a workload, as the log would stamp them: increasing sequences and
/// timestamps, random-walk prices per asset, and server-assigned 128-bit trade ids. A prelude
/// opens three accounts and prices every asset so that most generated trades can happen.
/// </summary>
public sealed class Workload
{
    public const long StartMs = 1_700_000_000_000;

    public static readonly long[] StartMids = [95_000_00000000, 3_500_00000000, 240_00000000];

    private readonly List<EngineInput> _inputs = [];
    private readonly List<(UserId Owner, TradeId Id)> _tradeIds = [];
    private readonly long[] _mids = (long[])StartMids.Clone();
    private readonly (long Bid, long Ask)[] _books = new (long, long)[3];
    private readonly List<(Direction Direction, long Level)>[] _levels = [[], [], []];
    private long _sequence;
    private long _now = StartMs;
    private ulong _tradeCounter;
    private int _lastStateChange = -1;

    public IReadOnlyList<EngineInput> Inputs => _inputs;

    public static UserId UserOf(int n) => new(new Guid(n + 1, 0x5eed, 0, new byte[8]));

    public static Workload Build(IEnumerable<Op> ops, bool prelude = true)
    {
        var w = new Workload();
        if (prelude)
        {
            for (var u = 0; u < 3; u++) w.Add(new CreateAccountOp(0, u));
            for (var a = 0; a < 3; a++) w.Add(new TickOp(100, a, TickShape.Walk, 0, 200));
        }
        foreach (var op in ops) w.Add(op);
        return w;
    }

    private void Add(Op op)
    {
        _now += op.DelayMs;
        switch (op)
        {
            case CreateAccountOp c:
                Emit(EngineInput.CreateAccount(++_sequence, _now, UserOf(c.User), OrderId()));
                break;
            case OpenTradeOp o:
                AddOpen(o);
                break;
            case CloseTradeOp c:
                Emit(EngineInput.CloseTrade(++_sequence, _now, UserOf(c.User), PickTrade(c), OrderId()));
                break;
            case QueryOp q:
                Emit(EngineInput.Query(q.Kind, _now, UserOf(q.User), OrderId()));
                break;
            case TickOp t:
                AddTick(t);
                break;
            case ReplayOp:
                if (_lastStateChange >= 0) Emit(_inputs[_lastStateChange]);
                break;
            case UnknownCommandOp u:
                Emit(new EngineInput { Kind = (InputKind)99, Sequence = ++_sequence, TimestampMs = _now, User = UserOf(u.User), OrderId = OrderId() });
                break;
            default:
                throw new ArgumentException($"Unknown op {op}", nameof(op));
        }
    }

    private void Emit(EngineInput input)
    {
        if (!input.IsQuery && input.Sequence == _sequence) _lastStateChange = _inputs.Count;
        _inputs.Add(input);
    }

    private Guid OrderId() => new((int)_inputs.Count, 0x0bde, 0, new byte[8]);

    private void AddOpen(OpenTradeOp o)
    {
        var user = UserOf(o.User);
        TradeId id;
        if (o.ReuseId && _tradeIds.Count > 0) id = _tradeIds[^1].Id;
        else
        {
            // 128 random-looking bits, so sorting by id (as the state codec does) differs from creation order.
            var n = ++_tradeCounter;
            id = new TradeId(((UInt128)(n * 0x9E3779B97F4A7C15UL) << 64) | n);
            _tradeIds.Add((user, id));
        }
        string? symbol = o.Symbol switch
        {
            0 => "BTC_USDC",
            1 => "ETH_USDC",
            2 => "SOL_USDC",
            3 => "eth_usdc",
            4 => "DOGE_USDC",
            _ => null,
        };
        var mid = o.Symbol switch { 0 => _mids[0], 1 or 3 => _mids[1], 2 => _mids[2], _ => 100_00000000 };
        var isLong = o.Direction == Direction.Long;
        var stopLoss = TriggerPrice(o.StopLoss, mid, towardsProfit: !isLong);
        var takeProfit = TriggerPrice(o.TakeProfit, mid, towardsProfit: isLong);
        Emit(EngineInput.CreateTrade(++_sequence, _now, user, id, symbol!, o.Direction, o.Margin, o.Leverage,
            stopLoss, takeProfit, OrderId()));

        // Remember where this trade's triggers would be, for AtLevel ticks (the trade may well be rejected; no matter).
        var asset = o.Symbol == 3 ? 1 : o.Symbol;
        if (asset > 2 || o.Direction is not (Direction.Long or Direction.Short) || _books[asset].Bid <= 0 ||
            o.Leverage != decimal.Truncate(o.Leverage) || o.Leverage is < 1 or > 100) return;
        var open = isLong ? _books[asset].Ask : _books[asset].Bid;
        var levels = _levels[asset];
        levels.Add((o.Direction, ReferenceEngine.LiquidationPrice(o.Direction, open, (int)o.Leverage, 5_000)));
        if (o.StopLoss.Style == TriggerStyle.Offset) levels.Add((o.Direction, (long)(stopLoss!.Value * Price.Scale)));
        if (o.TakeProfit.Style == TriggerStyle.Offset) levels.Add((o.Direction, (long)(takeProfit!.Value * Price.Scale)));
        if (levels.Count > 12) levels.RemoveRange(0, levels.Count - 12);
    }

    /// <summary>A price <c>bps</c> above (<paramref name="towardsProfit"/>) or below the mid, or a malformed one.</summary>
    private static decimal? TriggerPrice(Trigger trigger, long mid, bool towardsProfit)
    {
        var offset = mid * trigger.Bps / 10_000;
        var raw = towardsProfit ? mid + offset : mid - offset;
        var price = raw / (decimal)Price.Scale;
        return trigger.Style switch
        {
            TriggerStyle.None => null,
            TriggerStyle.Offset => price,
            TriggerStyle.TooPrecise => price + 0.000000001m,
            TriggerStyle.Zero => 0m,
            TriggerStyle.Negative => -price,
            _ => 2_000_000_000m,
        };
    }

    private TradeId PickTrade(CloseTradeOp c)
    {
        // Mostly among the newest few trades, which are the ones most likely still open.
        var user = UserOf(c.User);
        var candidates = new List<TradeId>(4);
        if (c.Target != CloseTarget.Unknown)
        {
            for (var i = _tradeIds.Count - 1; i >= 0 && candidates.Count < 4; i--)
            {
                if ((_tradeIds[i].Owner == user) == (c.Target == CloseTarget.Own)) candidates.Add(_tradeIds[i].Id);
            }
        }
        return candidates.Count == 0
            ? new TradeId(((UInt128)0xdead << 64) | (uint)c.Pick)
            : candidates[c.Pick % candidates.Count];
    }

    private void AddTick(TickOp t)
    {
        var asset = t.Asset;
        var mid = _mids[asset];
        if (t.Shape is TickShape.Walk or TickShape.Gap)
        {
            // Multiplicative random walk, kept within 1/100..100x of the start price.
            mid = (long)((Int128)mid * (1_000_000 + t.MovePpm) / 1_000_000);
            mid = Math.Clamp(mid, StartMids[asset] / 100, StartMids[asset] * 100);
            _mids[asset] = mid;
        }
        var half = (long)((Int128)mid * t.SpreadPpm / 2_000_000);
        var bid = mid - half;
        var ask = mid + half;
        switch (t.Shape)
        {
            case TickShape.Crossed:
                (bid, ask) = (ask + 1, bid);
                break;
            case TickShape.ZeroBid:
                bid = 0;
                break;
            case TickShape.UnknownAsset:
                asset = t.MovePpm % 2 == 0 ? 3 : -1;
                break;
            case TickShape.AtLevel when _levels[asset].Count > 0:
                var (direction, level) = _levels[asset][Math.Abs(t.MovePpm) % _levels[asset].Count];
                var price = Math.Max(1, level + t.SpreadPpm % 3 - 1);
                var spread = Math.Max(1, price / 2_000);
                (bid, ask) = direction == Direction.Long ? (price, price + spread) : (Math.Max(1, price - spread), price);
                _mids[asset] = Math.Clamp(price, StartMids[asset] / 100, StartMids[asset] * 100);
                break;
        }
        if (asset is >= 0 and < 3 && bid > 0 && ask >= bid) _books[asset] = (bid, ask);
        Emit(EngineInput.Tick(++_sequence, _now, new AssetId(asset), new Price(bid), new Price(ask)));
    }
}
