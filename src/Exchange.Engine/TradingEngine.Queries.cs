namespace Exchange.Engine;

public sealed partial class TradingEngine
{
    private void ApplyQuery(in EngineInput input, IEngineSink sink)
    {
        if (!_accounts.TryFind(input.User, out var account))
        {
            Reject(in input, RejectCode.AccountNotFound, sink);
            return;
        }
        var reply = Accepted(in input) with { Free = account.Free, Locked = account.Locked, Equity = Equity(account) };
        if (input.Kind == InputKind.GetOpenTrades) reply = reply with { OpenTrades = OpenTradesOf(account) };
        sink.OnReply(reply);
    }

    /// <summary>
    /// Free balance plus what each open trade would return if closed now: margin + unrealized
    /// PnL, floored at zero per trade (isolated margin cannot lose more than itself).
    /// </summary>
    private Usd Equity(Account account)
    {
        var equity = account.Free;
        foreach (var slot in account.OpenSlots)
        {
            ref readonly var trade = ref _trades[slot];
            var pnl = UnrealizedPnl(in trade, out _);
            equity += Usd.Max(trade.Margin + pnl, Usd.Zero);
        }
        return equity;
    }

    private Usd UnrealizedPnl(in TradeView trade, out Price mark)
    {
        mark = _markets[trade.Asset.Index].ClosingPrice(trade.Direction);
        return PositionMath.Pnl(trade.Direction, trade.OpenPrice, mark, trade.Quantity);
    }

    private OpenTradeValuation[] OpenTradesOf(Account account)
    {
        var result = new OpenTradeValuation[account.OpenSlots.Length];
        for (var i = 0; i < result.Length; i++)
        {
            var trade = _trades[account.OpenSlots[i]];
            var pnl = UnrealizedPnl(in trade, out var mark);
            result[i] = new OpenTradeValuation(trade, mark, pnl);
        }
        Array.Sort(result, static (a, b) => a.Trade.OpenSequence.CompareTo(b.Trade.OpenSequence));
        return result;
    }

    /// <summary>The trader's balance as the API shows it, or null when there is no account.</summary>
    public (Usd Free, Usd Locked, Usd Equity)? BalanceOf(UserId user) =>
        _accounts.TryFind(user, out var account) ? (account.Free, account.Locked, Equity(account)) : null;
}
