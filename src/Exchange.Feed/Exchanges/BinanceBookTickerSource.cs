using Microsoft.Extensions.Logging;

namespace Exchange.Feed.Exchanges;

/// <summary>
/// Binance spot <c>&lt;symbol&gt;@bookTicker</c> streams on one combined-stream connection
/// (<c>/stream?streams=btcusdc@bookTicker/ethusdc@bookTicker</c>). Frames are
/// <c>{"stream":"btcusdc@bookTicker","data":{"u":..,"s":"BTCUSDC","b":"95000.01","B":..,"a":"95000.02","A":..}}</c>;
/// spot book tickers carry no timestamp, so quotes are stamped when received. Binance ends every
/// connection after 24 hours; that is just another reconnect.
/// </summary>
public sealed class BinanceBookTickerSource : BookTickerSource
{
    public static readonly Uri DefaultUrl = new("wss://stream.binance.com:9443");

    // Stream name → (our symbol, Binance's symbol).
    private readonly Dictionary<string, (string Ours, string Theirs)> _streams = new(StringComparer.OrdinalIgnoreCase);

    public BinanceBookTickerSource(BookTickerOptions options, TimeProvider? time = null, ILogger? logger = null)
        : base(options, DefaultUrl, time, logger)
    {
        foreach (var symbol in options.Assets)
        {
            var theirs = ExchangeSymbol(symbol);
            _streams[theirs.ToLowerInvariant() + "@bookTicker"] = (symbol.ToUpperInvariant(), theirs);
        }
        var streams = string.Join('/', _streams.Keys);
        Endpoint = new Uri($"{BaseUrl.AbsoluteUri.TrimEnd('/')}/stream?streams={streams}");
    }

    public override string Exchange => FeedOptions.Binance;

    public override Uri Endpoint { get; }

    /// <summary><c>BTC_USDC</c> → <c>BTCUSDC</c>: Binance writes pairs without a separator.</summary>
    public static string ExchangeSymbol(string symbol)
    {
        ArgumentNullException.ThrowIfNull(symbol);
        return symbol.Replace("_", "", StringComparison.Ordinal).ToUpperInvariant();
    }

    private protected override bool TryTranslate(in BookTickerFrame frame, long receivedMs, out Quote quote, out string? problem)
    {
        quote = default;
        if (!_streams.TryGetValue(frame.Stream, out var pair))
        {
            problem = $"unknown stream '{frame.Stream}'";
            return false;
        }
        if (!string.Equals(frame.Symbol, pair.Theirs, StringComparison.OrdinalIgnoreCase))
        {
            problem = $"stream '{frame.Stream}' carried symbol '{frame.Symbol}'";
            return false;
        }
        problem = null;
        quote = new Quote(pair.Ours, frame.Bid, frame.Ask, receivedMs);
        return true;
    }
}
