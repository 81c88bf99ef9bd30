using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Exchange.Engine;

namespace Exchange.Feed.Tests;

/// <summary>A source the test writes quotes into; it can also be made to fail once.</summary>
public sealed class ChannelSource : IPriceSource
{
    private readonly Channel<Quote> _quotes = Channel.CreateUnbounded<Quote>();
    private int _failuresLeft;

    public int Reads { get; private set; }

    public void FailOnNextRead() => _failuresLeft++;

    public void Write(Quote quote) => Assert.True(_quotes.Writer.TryWrite(quote));

    public void Complete() => _quotes.Writer.Complete();

    public async IAsyncEnumerable<Quote> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        Reads++;
        if (_failuresLeft > 0)
        {
            _failuresLeft--;
            throw new InvalidOperationException("connection reset");
        }
        await foreach (var quote in _quotes.Reader.ReadAllAsync(cancellationToken))
            yield return quote;
    }

    public static Quote Q(string symbol, decimal bid, decimal ask) =>
        new(symbol, Price.FromDecimal(bid), Price.FromDecimal(ask), 0);
}
