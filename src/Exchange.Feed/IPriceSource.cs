using Exchange.Engine;

namespace Exchange.Feed;

/// <summary>
/// One best bid/ask as a source saw it. <see cref="Symbol"/> is already our symbol
/// (<c>BTC_USDC</c>): adapters translate the exchange's own names before yielding.
/// </summary>
public readonly record struct Quote(string Symbol, Price Bid, Price Ask, long TimestampMs);

/// <summary>
/// Where prices come from: the simulator, an exchange WebSocket, a replay file. A source only
/// produces quotes; filtering, validation, conflation and keeping prices fresh are the
/// <see cref="PriceFeed"/>'s job, so every source gets them the same way. Reconnecting belongs
/// to the source (only it knows its protocol); the enumeration ends by throwing
/// <see cref="OperationCanceledException"/> when the token is cancelled.
/// </summary>
public interface IPriceSource
{
    IAsyncEnumerable<Quote> ReadAsync(CancellationToken cancellationToken);
}
