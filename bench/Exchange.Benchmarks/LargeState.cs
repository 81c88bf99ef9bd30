using System.Runtime.InteropServices;
using Exchange.Engine;

namespace Exchange.Benchmarks;

/// <summary>
/// Builds a large engine state in memory, straight through <see cref="TradingEngine.Apply"/>
/// (no host, no journal): accounts holding about ten trades each on three books, with a
/// quarter carrying a stop-loss, a quarter a take-profit and a quarter both. Then it can go
/// on producing a realistic log after that state: price ticks (a bounded random walk that
/// fires some stops and targets), opens and closes. Everything is seeded, so a run is
/// repeatable.
/// </summary>
internal sealed class LargeState
{
    public const long Start = 1_700_000_000_000;
    private static readonly decimal[] BaseBids = [60_000.00m, 3_000.00m, 150.00m];

    private readonly Random _random;
    private readonly UserId[] _users;
    private readonly List<(TradeId Id, UserId Owner)> _open = [];
    private readonly Dictionary<TradeId, int> _openIndex = [];
    private readonly long[] _bids = new long[BaseBids.Length];
    private readonly Sink _sink;
    private long _sequence;
    private long _now = Start;
    private int _nextAsset;

    public TradingEngine Engine { get; }
    public long Sequence => _sequence;
    public long Rejected => _sink.Rejected;

    public LargeState(int trades, int accounts, int seed = 42)
    {
        _random = new Random(seed);
        _sink = new Sink(this);
        Engine = new TradingEngine(new EngineConfig());
        _users = new UserId[accounts];
        for (var i = 0; i < accounts; i++)
        {
            _users[i] = new UserId(RandomGuid());
            Engine.Apply(EngineInput.CreateAccount(++_sequence, _now, _users[i], RandomGuid()), _sink);
        }
        for (var a = 0; a < BaseBids.Length; a++)
        {
            _bids[a] = Price.FromDecimal(BaseBids[a]).Raw;
            Engine.Apply(EngineInput.Tick(++_sequence, _now, new AssetId(a), new Price(_bids[a]), new Price(Ask(_bids[a]))), _sink);
        }
        for (var t = 0; t < trades; t++) Engine.Apply(NextOpen(_users[t % accounts]), _sink);
        if (_sink.Rejected > 0)
            throw new InvalidOperationException($"{_sink.Rejected} commands of the set-up were rejected, first {_sink.FirstRejection}.");
    }

    public int OpenTrades => _open.Count;

    /// <summary>
    /// The next input of the log, already applied to <see cref="Engine"/>: half ticks (one
    /// asset at a time, one millisecond apart), a quarter opens and a quarter closes of a
    /// random open trade.
    /// </summary>
    public EngineInput Next()
    {
        _now++;
        var roll = _random.Next(4);
        EngineInput input;
        if (roll < 2 || _open.Count == 0) input = NextTick();
        else if (roll == 2) input = NextOpen(_users[_random.Next(_users.Length)]);
        else
        {
            var (id, owner) = _open[_random.Next(_open.Count)];
            input = EngineInput.CloseTrade(++_sequence, _now, owner, id, RandomGuid());
        }
        Engine.Apply(in input, _sink);
        return input;
    }

    private EngineInput NextTick()
    {
        var a = _nextAsset;
        _nextAsset = (a + 1) % BaseBids.Length;
        var basePrice = Price.FromDecimal(BaseBids[a]).Raw;
        // ±1 bp steps within ±1 %: stops and targets placed closer than that fire now and then.
        _bids[a] = Math.Clamp(_bids[a] + basePrice / 10_000 * (_random.Next(3) - 1), basePrice - basePrice / 100, basePrice + basePrice / 100);
        return EngineInput.Tick(++_sequence, _now, new AssetId(a), new Price(_bids[a]), new Price(Ask(_bids[a])));
    }

    private EngineInput NextOpen(UserId user)
    {
        var asset = _random.Next(BaseBids.Length);
        var direction = _random.Next(2) == 0 ? Direction.Long : Direction.Short;
        var isLong = direction == Direction.Long;
        var reference = new Price(_bids[asset]).ToDecimal();
        var kind = _random.Next(4);
        // Stops and targets 0.5 % .. 5 % away.
        var distance = (50 + _random.Next(451)) / 10_000m;
        decimal? stopLoss = kind is 0 or 2 ? Math.Round(reference * (isLong ? 1 - distance : 1 + distance), 2) : null;
        decimal? takeProfit = kind is 1 or 2 ? Math.Round(reference * (isLong ? 1 + distance : 1 - distance), 2) : null;
        var id = new TradeId(new UInt128((ulong)_random.NextInt64(), (ulong)_random.NextInt64()));
        return EngineInput.CreateTrade(++_sequence, _now, user, id, Market.Symbols[asset], direction,
            margin: 10 + _random.Next(40), leverage: 1 + _random.Next(20), stopLoss, takeProfit, RandomGuid());
    }

    private static long Ask(long bid) => bid + bid / 100_000;

    private Guid RandomGuid()
    {
        Span<byte> bytes = stackalloc byte[16];
        _random.NextBytes(bytes);
        return new Guid(bytes);
    }

    private void Opened(TradeId id, UserId owner)
    {
        _openIndex[id] = _open.Count;
        _open.Add((id, owner));
    }

    private void Closed(TradeId id)
    {
        if (!_openIndex.Remove(id, out var index)) return;
        var last = _open[^1];
        _open.RemoveAt(_open.Count - 1);
        if (index < _open.Count)
        {
            _open[index] = last;
            _openIndex[last.Id] = index;
        }
    }

    /// <summary>Keeps the list of open trades in step with the engine (closes by triggers included).</summary>
    private sealed class Sink(LargeState state) : IEngineSink
    {
        public long Rejected;
        public RejectCode FirstRejection;

        public void OnReply(in CommandReply reply)
        {
            if (!reply.Accepted && Rejected++ == 0) FirstRejection = reply.Code;
        }

        public void OnAccountCreated(in AccountCreated e) { }
        public void OnTradeOpened(in TradeOpened e) => state.Opened(e.Trade.Id, e.Trade.Owner);
        public void OnTradeClosed(in TradeClosed e) => state.Closed(e.Trade.Id);
        public void OnBalanceChanged(in BalanceChanged e) { }
    }
}

/// <summary>Drops files from the page cache, so a "cold" recovery really reads the disk.</summary>
internal static class PageCache
{
    private const int PosixFadvDontNeed = 4;

    [DllImport("libc", EntryPoint = "posix_fadvise")]
    private static extern int PosixFadvise(int fd, long offset, long length, int advice);

    public static void Evict(string directory)
    {
        foreach (var path in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
            file.Flush(flushToDisk: true); // dirty pages cannot be dropped
            var fd = (int)file.SafeFileHandle.DangerousGetHandle();
            if (PosixFadvise(fd, 0, 0, PosixFadvDontNeed) != 0)
                throw new IOException($"posix_fadvise failed on {path}");
        }
    }
}

/// <summary>CPU time of the calling thread: on a machine shared with other work, it shows what a phase costs without the waiting.</summary>
internal static class ThreadCpu
{
    private const int ClockThreadCpuTimeId = 3;

    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec time);

    public static TimeSpan Now() =>
        ClockGetTime(ClockThreadCpuTimeId, out var t) == 0 ? TimeSpan.FromTicks(t.Seconds * TimeSpan.TicksPerSecond + t.Nanoseconds / 100) : TimeSpan.Zero;
}
