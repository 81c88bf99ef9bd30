using System.Collections.Concurrent;
using Exchange.Engine;

namespace Exchange.Server.Api;

/// <summary>
/// The event sequence of each trader's latest close, noted as the engine hands its events out
/// (before the replies and pushes that tell the trader). A trader's closed-trade history then
/// waits for the recorder only while the database lacks one of that trader's closes, instead of
/// making the recorder commit early on every read.
/// </summary>
public sealed class RecentCloses
{
    private readonly ConcurrentDictionary<Guid, long> _last = new();

    public void Note(IReadOnlyList<object> events)
    {
        for (var i = 0; i < events.Count; i++)
            if (events[i] is TradeClosed closed) _last[closed.Trade.Owner.Value] = closed.Header.EventSequence;
    }

    /// <summary>The event sequence of <paramref name="user"/>'s latest close since the start (recovery included), or 0.</summary>
    public long LatestOf(Guid user) => _last.TryGetValue(user, out var sequence) ? sequence : 0;
}
