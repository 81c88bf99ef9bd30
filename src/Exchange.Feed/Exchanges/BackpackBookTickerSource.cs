using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Exchange.Feed.Exchanges;

/// <summary>
/// Backpack <c>bookTicker.&lt;symbol&gt;</c> streams: connect to <c>wss://ws.backpack.exchange</c> and send
/// <c>{"method":"SUBSCRIBE","params":["bookTicker.BTC_USDC",..]}</c>. Frames are
/// <c>{"stream":"bookTicker.BTC_USDC","data":{"e":"bookTicker","E":..,"s":"BTC_USDC","a":"18.70","A":..,"b":"18.67","B":..,"u":..,"T":..}}</c>
/// with times in microseconds. Backpack spells symbols as we do.
/// </summary>
public sealed class BackpackBookTickerSource : BookTickerSource
{
    public static readonly Uri DefaultUrl = new("wss://ws.backpack.exchange");

    private const string StreamPrefix = "bookTicker.";

    // Stream name → our symbol.
    private readonly Dictionary<string, string> _streams = new(StringComparer.OrdinalIgnoreCase);

    public BackpackBookTickerSource(BookTickerOptions options, TimeProvider? time = null, ILogger? logger = null)
        : base(options, DefaultUrl, time, logger)
    {
        foreach (var symbol in options.Assets)
            _streams[StreamPrefix + symbol.ToUpperInvariant()] = symbol.ToUpperInvariant();
        SubscribeMessage = JsonSerializer.Serialize(new { method = "SUBSCRIBE", @params = _streams.Keys.ToArray() });
    }

    public override string Exchange => FeedOptions.Backpack;

    public override Uri Endpoint => BaseUrl;

    private protected override string? SubscribeMessage { get; }

    private protected override bool TryTranslate(in BookTickerFrame frame, long receivedMs, out Quote quote, out string? problem)
    {
        quote = default;
        if (!_streams.TryGetValue(frame.Stream, out var symbol))
        {
            problem = $"unknown stream '{frame.Stream}'";
            return false;
        }
        if (!string.Equals(frame.Symbol, symbol, StringComparison.OrdinalIgnoreCase))
        {
            problem = $"stream '{frame.Stream}' carried symbol '{frame.Symbol}'";
            return false;
        }
        problem = null;
        // The engine's own timestamp when Backpack sends one (µs → ms), else when we received it.
        quote = new Quote(symbol, frame.Bid, frame.Ask, frame.EventTime is { } us ? us / 1_000 : receivedMs);
        return true;
    }
}
