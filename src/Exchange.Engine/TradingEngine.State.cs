using System.Runtime.CompilerServices;

namespace Exchange.Engine;

public sealed partial class TradingEngine
{
    /// <summary>
    /// Copies the whole state; cheap enough to run on the engine thread between inputs. The
    /// trades are copied into <paramref name="slotBuffer"/> when it is long enough (an earlier
    /// image's array that nobody reads any more): copying a million trades into memory already
    /// in use costs a fraction of copying them into fresh memory, which must be faulted in.
    /// </summary>
    public StateImage CaptureImage(TradeView[]? slotBuffer = null)
    {
        var markets = new MarketImage[_markets.Length];
        for (var i = 0; i < markets.Length; i++)
        {
            var m = _markets[i];
            markets[i] = new MarketImage(m.Spec.Symbol, m.Bid, m.Ask, m.PriceTimestampMs);
        }
        var accounts = new AccountImage[_accounts.Count];
        var n = 0;
        foreach (var account in _accounts.All) accounts[n++] = new AccountImage(account.Id, account.Free, account.Locked);
        var (slots, slotCount) = _trades.CopySlots(slotBuffer);
        return new StateImage
        {
            LastSequence = LastSequence, EventSequence = _eventSequence, InsuranceFund = InsuranceFund,
            HousePnl = HousePnl, TotalDeposits = TotalDeposits, IgnoredTicks = IgnoredTicks,
            Markets = markets, Accounts = accounts, TradeSlots = slots, TradeSlotCount = slotCount,
        };
    }

    /// <summary>SHA-256 of the canonical encoding of the whole state (lowercase hex).</summary>
    public string StateHash() => StateCodec.Hash(CaptureImage());

    /// <summary>
    /// Rebuilds an engine from an image: accounts, trades, books and trigger heaps. The engine
    /// takes the image's trade array over as its own storage where it has room, so the image
    /// must not be used afterwards.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static TradingEngine Restore(EngineConfig config, StateImage image)
    {
        var engine = new TradingEngine(config);
        engine.LastSequence = image.LastSequence;
        engine._eventSequence = image.EventSequence;
        engine.InsuranceFund = image.InsuranceFund;
        engine.HousePnl = image.HousePnl;
        engine.TotalDeposits = image.TotalDeposits;
        engine.IgnoredTicks = image.IgnoredTicks;
        // Trades and journaled ticks name their market by its place in the asset list, so the list
        // may grow at the end but must keep every saved market where it was.
        for (var i = 0; i < image.Markets.Length; i++)
        {
            var m = image.Markets[i];
            if (i >= config.Assets.Count || !string.Equals(config.Assets[i].Symbol, m.Symbol, StringComparison.OrdinalIgnoreCase))
                throw new InvalidDataException(config.TryFindAsset(m.Symbol, out _)
                    ? $"The saved state has {m.Symbol} as asset {i + 1}, but the configured assets list it elsewhere: keep saved assets in their order and add new ones at the end."
                    : $"The saved state trades {m.Symbol}, which is not configured.");
            var market = engine._markets[i];
            market.Bid = m.Bid;
            market.Ask = m.Ask;
            market.PriceTimestampMs = m.PriceTimestampMs;
        }
        engine._accounts.EnsureCapacity(image.Accounts.Length);
        foreach (var a in image.Accounts)
            engine._accounts.Add(new Account(a.User, a.Free) { Locked = a.Locked });
        // The heaps take their triggers unordered and are built bottom-up once at the end: O(n)
        // whatever order the trades come in.
        foreach (var market in engine._markets) market.BeginBulkLoad();
        var slots = WithRoomToGrow(image);
        var count = engine._trades.Adopt(slots, image.TradeSlotCount);
        engine.ReserveTriggers(count, slots.Length);
        // Independent work on two cores (each a chain of cache misses at a million trades): the
        // id index, then the trigger heaps (built once all are in) on one; each trade's place in
        // its owner's list on the other, which is the longest part (a random account per trade).
        Parallel.Invoke(
            () =>
            {
                engine._trades.IndexAdopted();
                engine.AddRestoredTriggers(count);
                foreach (var market in engine._markets) market.EndBulkLoad();
            },
            () => engine.LinkToAccounts(count));
        return engine;
    }

    /// <summary>
    /// The image's trade array if it has room for a quarter more trades (a decoded snapshot
    /// is allocated so), else a copy that has: the replay after a restore opens trades, and
    /// growing a full array of a million trades would copy it all.
    /// </summary>
    private static TradeView[] WithRoomToGrow(StateImage image)
    {
        var wanted = RoomToGrow(image.TradeSlotCount);
        if (image.TradeSlots.Length >= wanted) return image.TradeSlots;
        var copy = new TradeView[wanted];
        Array.Copy(image.TradeSlots, copy, image.TradeSlotCount);
        return copy;
    }

    /// <summary>Slots to allocate for <paramref name="count"/> restored trades.</summary>
    internal static int RoomToGrow(int count) => (int)Math.Min(Array.MaxLength, count + count / 4L + 1024);

    /// <summary>
    /// Sizes each trigger heap for the restored trades and the position tables for every slot,
    /// so the restore never grows an array (at a million trades each doubling copies megabytes
    /// into memory that must first be faulted in).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ReserveTriggers(int count, int slotCapacity)
    {
        var stops = new int[_markets.Length * 2];
        var takeProfits = new int[_markets.Length * 2];
        for (var slot = 0; slot < count; slot++)
        {
            ref readonly var trade = ref _trades[slot];
            var heap = trade.Asset.Index * 2 + (trade.Direction == Direction.Long ? 0 : 1);
            stops[heap]++;
            if (trade.TakeProfit.IsSet) takeProfits[heap]++;
        }
        for (var i = 0; i < _markets.Length; i++)
        {
            _markets[i].LongStops.EnsureCapacity(stops[i * 2]);
            _markets[i].ShortStops.EnsureCapacity(stops[i * 2 + 1]);
            _markets[i].LongTakeProfits.EnsureCapacity(takeProfits[i * 2]);
            _markets[i].ShortTakeProfits.EnsureCapacity(takeProfits[i * 2 + 1]);
        }
        _stopPositions.EnsureSlot(slotCapacity - 1);
        _takeProfitPositions.EnsureSlot(slotCapacity - 1);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void LinkToAccounts(int count)
    {
        for (var slot = 0; slot < count; slot++)
        {
            _trades.AccountPosition(slot) = _accounts[_trades[slot].Owner].AddOpenSlot(slot);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void AddRestoredTriggers(int count)
    {
        for (var slot = 0; slot < count; slot++)
        {
            ref readonly var trade = ref _trades[slot];
            AddTriggers(_markets[trade.Asset.Index], slot, in trade);
        }
    }

    /// <summary>All open trades (any order); for tests, tools and the API's warm start.</summary>
    public IEnumerable<TradeView> AllOpenTrades() => _trades.All();
}
