using System.Runtime.CompilerServices;

namespace Exchange.Engine;

public sealed partial class TradingEngine
{
    /// <summary>Copies the whole state; cheap enough to run on the engine thread between inputs.</summary>
    public StateImage CaptureImage()
    {
        var markets = new MarketImage[_markets.Length];
        for (var i = 0; i < markets.Length; i++)
        {
            var m = _markets[i];
            markets[i] = new MarketImage(m.Spec.Symbol, m.Bid, m.Ask, m.PriceTimestampMs);
        }
        var accounts = new AccountImage[_accounts.Count];
        var n = 0;
        foreach (var account in _accounts.Values) accounts[n++] = new AccountImage(account.Id, account.Free, account.Locked);
        var (slots, slotCount) = _trades.CopySlots();
        return new StateImage
        {
            LastSequence = LastSequence, EventSequence = _eventSequence, InsuranceFund = InsuranceFund,
            HousePnl = HousePnl, TotalDeposits = TotalDeposits, IgnoredTicks = IgnoredTicks,
            Markets = markets, Accounts = accounts, TradeSlots = slots, TradeSlotCount = slotCount,
        };
    }

    /// <summary>SHA-256 of the canonical encoding of the whole state (lowercase hex).</summary>
    public string StateHash() => StateCodec.Hash(CaptureImage());

    /// <summary>Rebuilds an engine from an image: accounts, trades, books and trigger heaps.</summary>
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
        foreach (var m in image.Markets)
        {
            if (!config.TryFindAsset(m.Symbol, out var asset))
                throw new InvalidDataException($"The saved state trades {m.Symbol}, which is not configured.");
            var market = engine._markets[asset.Index];
            market.Bid = m.Bid;
            market.Ask = m.Ask;
            market.PriceTimestampMs = m.PriceTimestampMs;
        }
        engine._accounts.EnsureCapacity(image.Accounts.Length);
        foreach (var a in image.Accounts)
            engine._accounts.Add(a.User, new Account(a.User, a.Free) { Locked = a.Locked });
        // The heaps take their triggers unordered and are built bottom-up once at the end: O(n)
        // whatever order the trades come in.
        foreach (var market in engine._markets) market.BeginBulkLoad();
        // Sized once: growing by doubling copies the arrays and rehashes the id index again and again.
        engine._trades.EnsureCapacity(image.TradeSlotCount);
        var slots = image.TradeSlots;
        var count = image.TradeSlotCount;
        // Two independent halves on two cores (each a chain of cache misses at a million trades):
        // the id index, and each trade's place in its account and in the trigger heaps. Slots
        // are handed out in order, so both sides know them without talking to each other.
        Parallel.Invoke(
            () => engine._trades.Load(slots, count),
            () => engine.LinkRestoredTrades(slots, count));
        foreach (var market in engine._markets) market.EndBulkLoad();
        return engine;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void LinkRestoredTrades(TradeView[] slots, int count)
    {
        var slot = 0;
        for (var i = 0; i < count; i++)
        {
            ref readonly var trade = ref slots[i];
            if (trade.OpenSequence == 0) continue;
            var account = _accounts[trade.Owner];
            _trades.AccountPosition(slot) = account.OpenSlots.Count;
            account.OpenSlots.Add(slot);
            AddTriggers(_markets[trade.Asset.Index], slot, in trade);
            slot++;
        }
    }

    /// <summary>All open trades (any order); for tests, tools and the API's warm start.</summary>
    public IEnumerable<TradeView> AllOpenTrades() => _trades.All();
}
