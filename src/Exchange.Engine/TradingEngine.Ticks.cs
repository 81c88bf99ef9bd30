namespace Exchange.Engine;

public sealed partial class TradingEngine
{
    /// <summary>Ticks with a crossed, zero, negative or absurd (above <see cref="Price.MaxQuote"/>) book, or for an unknown asset, are ignored and counted here.</summary>
    public long IgnoredTicks { get; private set; }

    /// <summary>
    /// Moves the book and fires what it reached: O(log n) per fired trade and O(1) when
    /// nothing fires, because each heap's top is the first trigger the price can reach.
    /// </summary>
    private void ApplyTick(in EngineInput tick, IEngineSink sink)
    {
        var index = tick.Asset.Index;
        if ((uint)index >= (uint)_markets.Length || tick.Bid.Raw <= 0 || tick.Ask < tick.Bid || tick.Ask > Price.MaxQuote)
        {
            IgnoredTicks++;
            return;
        }
        var market = _markets[index];
        market.Bid = tick.Bid;
        market.Ask = tick.Ask;
        market.PriceTimestampMs = tick.TimestampMs;

        var bid = tick.Bid.Raw;
        var ask = tick.Ask.Raw;
        while (market.LongStops.Count > 0 && bid <= market.LongStops.TopPrice)
            FireStop(market.LongStops.TopSlot, tick.Bid, in tick, sink);
        while (market.LongTakeProfits.Count > 0 && bid >= market.LongTakeProfits.TopPrice)
            Settle(market.LongTakeProfits.TopSlot, CloseReason.TakeProfit, tick.Bid, in tick, sink);
        while (market.ShortStops.Count > 0 && ask >= market.ShortStops.TopPrice)
            FireStop(market.ShortStops.TopSlot, tick.Ask, in tick, sink);
        while (market.ShortTakeProfits.Count > 0 && ask <= market.ShortTakeProfits.TopPrice)
            Settle(market.ShortTakeProfits.TopSlot, CloseReason.TakeProfit, tick.Ask, in tick, sink);
    }

    /// <summary>A stop trigger is the nearer of stop-loss and liquidation; when the price passes both, the stop-loss wins.</summary>
    private void FireStop(int slot, Price price, in EngineInput tick, IEngineSink sink)
    {
        ref readonly var trade = ref _trades[slot];
        var stopLossHit = trade.StopLoss.IsSet &&
            (trade.Direction == Direction.Long ? price <= trade.StopLoss : price >= trade.StopLoss);
        Settle(slot, stopLossHit ? CloseReason.StopLoss : CloseReason.Liquidation, price, in tick, sink);
    }
}
