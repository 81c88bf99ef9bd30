using System.Net;
using System.Net.Sockets;
using Exchange.Engine;
using Exchange.Feed.Exchanges;

namespace Exchange.Feed.Tests;

internal static class AdapterHarness
{
    public static BookTickerOptions Options(Uri url, TimeSpan? staleAfter = null) => new()
    {
        Assets = ["BTC_USDC", "ETH_USDC", "SOL_USDC"],
        Url = url,
        // Short waits keep the suite fast; the back-off itself is tested in ReconnectBackoffTests.
        ReconnectBaseDelay = TimeSpan.FromMilliseconds(20),
        ReconnectMaxDelay = TimeSpan.FromMilliseconds(200),
        StaleAfter = staleAfter ?? TimeSpan.FromSeconds(10),
        ConnectTimeout = TimeSpan.FromSeconds(5),
        JitterSeed = 1,
    };

    /// <summary>Reads until <paramref name="count"/> quotes arrived, then stops the source (which closes its socket).</summary>
    public static async Task<List<Quote>> TakeAsync(IPriceSource source, int count, Action<Quote>? onQuote = null)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var quotes = new List<Quote>();
        try
        {
            await foreach (var quote in source.ReadAsync(timeout.Token))
            {
                quotes.Add(quote);
                onQuote?.Invoke(quote);
                if (quotes.Count == count)
                    break;
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            Assert.Fail($"timed out with {quotes.Count} of {count} quotes: " +
                string.Join(" ", quotes.Select(q => $"{q.Symbol} {q.Bid}/{q.Ask}")) +
                (source is BookTickerSource s ? $" {s.Stats}" : ""));
        }
        return quotes;
    }

    public static Price P(decimal value) => Price.FromDecimal(value);

    /// <summary>A loopback port nothing listens on (until a test starts a server there).</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
