using Exchange.Engine;

namespace Exchange.Journal;

/// <summary>
/// Keeps what the engine reports for one input: its reply and its events (boxed, so they
/// can wait for durability and travel to other threads).
/// </summary>
internal sealed class CollectingSink : IEngineSink
{
    public CommandReply Reply;
    public bool HasReply;
    public List<object>? Events;

    public void Reset()
    {
        Reply = default;
        HasReply = false;
        Events = null;
    }

    public void OnReply(in CommandReply reply)
    {
        Reply = reply;
        HasReply = true;
    }

    public void OnAccountCreated(in AccountCreated e) => (Events ??= []).Add(e);
    public void OnTradeOpened(in TradeOpened e) => (Events ??= []).Add(e);
    public void OnTradeClosed(in TradeClosed e) => (Events ??= []).Add(e);
    public void OnBalanceChanged(in BalanceChanged e) => (Events ??= []).Add(e);
}

/// <summary>Discards everything: for replays whose outputs were already delivered.</summary>
public sealed class DiscardingSink : IEngineSink
{
    public static readonly DiscardingSink Instance = new();

    public void OnReply(in CommandReply reply) { }
    public void OnAccountCreated(in AccountCreated e) { }
    public void OnTradeOpened(in TradeOpened e) { }
    public void OnTradeClosed(in TradeClosed e) { }
    public void OnBalanceChanged(in BalanceChanged e) { }
}
