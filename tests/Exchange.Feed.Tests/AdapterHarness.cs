using System.Net;
using System.Net.Sockets;
using Exchange.Engine;
using Exchange.Feed.Exchanges;

namespace Exchange.Feed.Tests;

internal static class AdapterHarness
{
    public static BookTickerOptions Options(Uri url) => new()
    {
        Assets = ["BTC_USDC", "ETH_USDC", "SOL_USDC"],
        Url = url,
        // Short waits keep the suite fast; the back-off itself is tested in ReconnectBackoffTests.
        ReconnectBaseDelay = TimeSpan.FromMilliseconds(20),
        ReconnectMaxDelay = TimeSpan.FromMilliseconds(200),
        StaleAfter = TimeSpan.FromSeconds(10),
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

    /// <summary>
    /// On the manual clock: the open connection goes silent past its stale limit, then the
    /// longest back-off passes, and time stands still again, so exactly one connection goes stale
    /// however slowly the machine runs. Start it once the first quote has arrived.
    /// </summary>
    public static void GoStaleOnce(ManualTime time, BookTickerSource source, BookTickerOptions options)
    {
        time.Advance(options.StaleAfter);
        // Once the stale socket is disposed, the back-off's delay is the only timer left.
        WaitUntil(() => source.Stats.StaleTimeouts == 1 && time.ActiveTimers == 1, "the back-off after the stale connection");
        time.Advance(options.ReconnectMaxDelay);
    }

    public static void WaitUntil(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail("timed out waiting for " + what);
            Thread.Sleep(1);
        }
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
