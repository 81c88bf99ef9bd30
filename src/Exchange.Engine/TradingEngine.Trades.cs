using System.Runtime.CompilerServices;

namespace Exchange.Engine;

public sealed partial class TradingEngine
{
    private const decimal MaxTriggerPrice = 1_000_000_000m;
    private const long MaxTriggerPriceRaw = 1_000_000_000 * Price.Scale;
    private static readonly long[] PowersOfTen = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000];

    /// <summary>
    /// <paramref name="value"/> × 10^<paramref name="decimals"/> (decimals ≤ 8) as a long, when the
    /// decimal has at most that many decimals and the result fits: exactly the number the
    /// decimal arithmetic would give, without it. False means "use decimal arithmetic", not "invalid".
    /// </summary>
    private static bool TryExactFixed(decimal value, int decimals, out long raw)
    {
        raw = 0;
        int scale = value.Scale;
        if (scale > decimals) return false;
        Span<int> bits = stackalloc int[4];
        decimal.GetBits(value, bits);
        if (bits[2] != 0) return false;
        var mantissa = (ulong)(uint)bits[1] << 32 | (uint)bits[0];
        var factor = PowersOfTen[decimals - scale];
        if (mantissa > (ulong)(long.MaxValue / factor)) return false;
        raw = (long)mantissa * factor;
        if (bits[3] < 0) raw = -raw;
        return true;
    }

    private void CreateTrade(in EngineInput input, IEngineSink sink)
    {
        var code = ValidateNewTrade(in input, out var order);
        if (code != RejectCode.None)
        {
            Reject(in input, code, sink);
            return;
        }

        var account = order.Account;
        var market = _markets[order.Asset.Index];
        var trade = new TradeView(
            input.TradeId, input.User, order.Asset, input.Direction, order.OpenPrice,
            order.Quantity,
            order.Margin, order.Leverage, order.LiquidationPrice, order.StopLoss, order.TakeProfit,
            input.Sequence, input.TimestampMs);

        var slot = _trades.Add(in trade);
        _trades.AccountPosition(slot) = account.AddOpenSlot(slot);
        account.Free -= order.Margin;
        account.Locked += order.Margin;
        AddTriggers(market, slot, in trade);

        sink.OnTradeOpened(new TradeOpened(NextHeader(in input), trade));
        sink.OnBalanceChanged(new BalanceChanged(NextHeader(in input), account.Id, account.Free, account.Locked));
        sink.OnReply(new CommandReply
        {
            Kind = input.Kind, Sequence = input.Sequence, OrderId = input.OrderId, User = input.User,
            Trade = trade, Free = account.Free, Locked = account.Locked,
        });
    }

    private struct ValidOrder
    {
        public Account Account;
        public AssetId Asset;
        public int Leverage;
        public Usd Margin;
        public Price OpenPrice;
        public Quantity Quantity;
        public Price LiquidationPrice;
        public Price StopLoss;
        public Price TakeProfit;
    }

    /// <summary>Every rule a new trade must pass, in the order a trader would fix them.</summary>
    private RejectCode ValidateNewTrade(in EngineInput input, out ValidOrder order)
    {
        order = default;
        if (!_accounts.TryFind(input.User, out var account)) return RejectCode.AccountNotFound;
        order.Account = account;
        if (!_config.TryFindAsset(input.Symbol, out order.Asset)) return RejectCode.UnknownAsset;
        if (input.Direction is not (Direction.Long or Direction.Short)) return RejectCode.InvalidDirection;
        var market = _markets[order.Asset.Index];
        var spec = market.Spec;

        // Fast paths first: a number with few decimals converts exactly to a long and is
        // checked in fixed point; any other falls through to the same rules in decimal.
        if (TryExactFixed(input.Leverage, 0, out var leverage))
        {
            if (leverage < 1 || leverage > spec.MaxLeverage) return RejectCode.LeverageOutOfRange;
        }
        else
        {
            if (input.Leverage != decimal.Truncate(input.Leverage)) return RejectCode.LeverageNotInteger;
            if (input.Leverage < 1 || input.Leverage > spec.MaxLeverage) return RejectCode.LeverageOutOfRange;
            leverage = (long)input.Leverage;
        }
        order.Leverage = (int)leverage;

        if (TryExactFixed(input.Margin, Usd.Decimals, out var cents))
        {
            if (cents <= 0) return RejectCode.MarginNotPositive;
            if (cents > spec.MaxMargin.Cents) return RejectCode.MarginAboveMaximum;
        }
        else
        {
            if (input.Margin <= 0) return RejectCode.MarginNotPositive;
            if (input.Margin > spec.MaxMargin.ToDecimal()) return RejectCode.MarginAboveMaximum;
            var scaled = input.Margin * Usd.Scale;
            if (scaled != decimal.Truncate(scaled)) return RejectCode.MarginTooPrecise;
            cents = (long)scaled;
        }
        order.Margin = new Usd(cents);
        if (order.Margin < spec.MinMargin) return RejectCode.MarginBelowMinimum;
        if (order.Margin > account.Free) return RejectCode.InsufficientBalance;

        if (!TryTriggerPrice(input.StopLossPrice, out order.StopLoss) ||
            !TryTriggerPrice(input.TakeProfitPrice, out order.TakeProfit))
            return RejectCode.TriggerPriceInvalid;

        if (!market.HasPrice) return RejectCode.NoPrice;
        if (input.TimestampMs - market.PriceTimestampMs > _config.PriceMaxAgeMs) return RejectCode.PriceStale;

        var isLong = input.Direction == Direction.Long;
        order.OpenPrice = isLong ? market.Ask : market.Bid;
        var closing = market.ClosingPrice(input.Direction);
        // Against the closing side, not the open price: a stop-loss inside the spread would close the trade on the next tick.
        var stopLossLimit = input.StopLossCheckedAgainstOpenPrice ? order.OpenPrice : closing;
        if (order.StopLoss.IsSet && (isLong ? order.StopLoss >= stopLossLimit : order.StopLoss <= stopLossLimit))
            return RejectCode.StopLossWrongSide;
        if (order.TakeProfit.IsSet && (isLong ? order.TakeProfit <= order.OpenPrice : order.TakeProfit >= order.OpenPrice))
            return RejectCode.TakeProfitWrongSide;

        if (!PositionMath.TryQuantityFor(new Usd(order.Margin.Cents * order.Leverage), order.OpenPrice, out order.Quantity))
            return RejectCode.PositionTooLarge;
        order.LiquidationPrice = PositionMath.LiquidationPrice(input.Direction, order.OpenPrice, order.Leverage, spec.MaintenanceMarginPpm);
        if (isLong ? closing <= order.LiquidationPrice : closing >= order.LiquidationPrice)
            return RejectCode.WouldBeLiquidatedAtOnce;
        // A stop-loss at or past the liquidation price never fires before liquidation, except on a
        // gap through both, where it wins (DESIGN §2.2) and would pay out the equity liquidation keeps.
        if (order.StopLoss.IsSet && !input.StopLossCheckedAgainstOpenPrice &&
            (isLong ? order.StopLoss <= order.LiquidationPrice : order.StopLoss >= order.LiquidationPrice))
            return RejectCode.StopLossWrongSide;

        if (_trades.Contains(input.TradeId)) return RejectCode.TradeIdTaken;
        return RejectCode.None;
    }

    private static bool TryTriggerPrice(decimal? value, out Price price)
    {
        price = Price.None;
        if (value is not { } v) return true;
        if (TryExactFixed(v, Price.Decimals, out var fixedRaw))
        {
            if (fixedRaw <= 0 || fixedRaw > MaxTriggerPriceRaw) return false;
            price = new Price(fixedRaw);
            return true;
        }
        if (v <= 0 || v > MaxTriggerPrice) return false;
        var raw = v * Price.Scale;
        if (raw != decimal.Truncate(raw)) return false;
        price = new Price((long)raw);
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddTriggers(Market market, int slot, in TradeView trade)
    {
        var isLong = trade.Direction == Direction.Long;
        // The stop-loss or the liquidation price, whichever the price reaches first.
        var stop = trade.StopLoss.IsSet && (isLong ? trade.StopLoss > trade.LiquidationPrice : trade.StopLoss < trade.LiquidationPrice)
            ? trade.StopLoss
            : trade.LiquidationPrice;
        market.StopsOf(trade.Direction).Add(slot, stop.Raw, trade.OpenSequence);
        if (trade.TakeProfit.IsSet) market.TakeProfitsOf(trade.Direction).Add(slot, trade.TakeProfit.Raw, trade.OpenSequence);
    }

    private static void RemoveTriggers(Market market, int slot, Direction direction)
    {
        market.StopsOf(direction).Remove(slot);
        var takeProfits = market.TakeProfitsOf(direction);
        if (takeProfits.Contains(slot)) takeProfits.Remove(slot);
    }

    private void CloseTrade(in EngineInput input, IEngineSink sink)
    {
        if (!_accounts.TryFind(input.User, out var account))
        {
            Reject(in input, RejectCode.AccountNotFound, sink);
            return;
        }
        if (!_trades.TryFind(input.TradeId, out var slot))
        {
            Reject(in input, RejectCode.TradeNotFound, sink);
            return;
        }
        var trade = _trades[slot];
        if (trade.Owner != input.User)
        {
            Reject(in input, RejectCode.TradeNotOwned, sink);
            return;
        }
        var market = _markets[trade.Asset.Index];
        if (input.TimestampMs - market.PriceTimestampMs > _config.PriceMaxAgeMs)
        {
            Reject(in input, RejectCode.PriceStale, sink);
            return;
        }

        var result = Settle(slot, in trade, account, CloseReason.Manual, market.ClosingPrice(trade.Direction), in input, sink);
        sink.OnReply(new CommandReply
        {
            Kind = input.Kind, Sequence = input.Sequence, OrderId = input.OrderId, User = input.User,
            Trade = trade, Close = result, Free = account.Free, Locked = account.Locked,
        });
    }

    private CloseResult Settle(int slot, CloseReason reason, Price closePrice, in EngineInput cause, IEngineSink sink)
    {
        var trade = _trades[slot];
        return Settle(slot, in trade, _accounts[trade.Owner], reason, closePrice, in cause, sink);
    }

    /// <summary>
    /// Closes a trade at <paramref name="closePrice"/> and moves the money: the trader gets
    /// margin + PnL floored at zero (nothing on liquidation), the house takes the other side
    /// of the PnL, and the insurance fund takes what is left of a liquidated margin or pays
    /// what a gap took beyond it.
    /// </summary>
    private CloseResult Settle(int slot, in TradeView trade, Account account, CloseReason reason, Price closePrice,
        in EngineInput cause, IEngineSink sink)
    {
        var pnl = PositionMath.Pnl(trade.Direction, trade.OpenPrice, closePrice, trade.Quantity);
        var equity = trade.Margin + pnl;
        Usd payout, insurance;
        if (reason == CloseReason.Liquidation)
        {
            payout = Usd.Zero;
            insurance = equity;
        }
        else
        {
            payout = Usd.Max(equity, Usd.Zero);
            insurance = equity < Usd.Zero ? equity : Usd.Zero;
        }

        RemoveTriggers(_markets[trade.Asset.Index], slot, trade.Direction);
        var position = _trades.AccountPosition(slot);
        _trades.AccountPosition(account.RemoveOpenSlotAt(position)) = position;
        _trades.Remove(slot);

        account.Locked -= trade.Margin;
        account.Free += payout;
        InsuranceFund += insurance;
        HousePnl -= pnl;

        var header = NextHeader(in cause);
        sink.OnTradeClosed(new TradeClosed(header, trade, reason, closePrice, pnl, payout, insurance));
        sink.OnBalanceChanged(new BalanceChanged(NextHeader(in cause), account.Id, account.Free, account.Locked));
        var marginReturned = payout < trade.Margin ? payout : trade.Margin;
        return new CloseResult(closePrice, pnl, marginReturned, payout);
    }
}
