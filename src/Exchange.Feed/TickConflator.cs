using Exchange.Engine;
using Microsoft.Extensions.Logging;

namespace Exchange.Feed;

internal enum QuoteOutcome
{
    /// <summary>Passed on at once: the asset had not ticked for an interval.</summary>
    Emitted,

    /// <summary>Kept as the asset's latest; <see cref="TickConflator.Flush"/> sends it when the interval is up.</summary>
    Held,
    Rejected,
    Ignored,
}

/// <summary>
/// The feed's rules with time passed in, so they are tested without clocks or threads: per asset
/// keep only the latest valid quote, pass on at most one per interval (the first at once, the
/// rest at the next flush after the interval), and re-send the last price once an interval has
/// passed without one, until the source has been silent for the stale limit. Not thread-safe.
/// </summary>
internal sealed class TickConflator
{
    private struct Slot
    {
        public AssetId Asset;
        public string Symbol;
        public Price Bid, Ask;
        public bool HasQuote, Pending, EverEmitted, Stale;
        public long LastQuoteMs, LastEmitMs;
    }

    private readonly Slot[] _slots;
    private readonly Dictionary<string, int> _bySymbol = new(StringComparer.OrdinalIgnoreCase);
    private readonly Action<AssetId, Price, Price> _emit;
    private readonly long _intervalMs, _staleAfterMs;
    private readonly ILogger _logger;
    private long _received, _emitted, _resent, _rejected, _ignored;

    public TickConflator(IReadOnlyList<(string Symbol, AssetId Asset)> assets, long intervalMs, long staleAfterMs,
        Action<AssetId, Price, Price> emit, ILogger logger)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(intervalMs, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(staleAfterMs);
        _slots = new Slot[assets.Count];
        for (var i = 0; i < assets.Count; i++)
        {
            _slots[i] = new Slot { Asset = assets[i].Asset, Symbol = assets[i].Symbol };
            _bySymbol[assets[i].Symbol] = i;
        }
        _intervalMs = intervalMs;
        _staleAfterMs = staleAfterMs;
        _emit = emit;
        _logger = logger;
    }

    public FeedStats Stats(long sourceFailures) =>
        new(_received, _emitted, _resent, _rejected, _ignored, sourceFailures);

    public QuoteOutcome Offer(in Quote quote, long nowMs)
    {
        _received++;
        if (!_bySymbol.TryGetValue(quote.Symbol, out var i))
        {
            _ignored++;
            return QuoteOutcome.Ignored;
        }
        // The engine would act on a crossed or zero price (fill stops, liquidate): never pass one on.
        // One above Price.MaxQuote the engine ignores, so screens must not show it either.
        if (!quote.Bid.IsSet || !quote.Ask.IsSet || quote.Bid >= quote.Ask || quote.Ask > Price.MaxQuote)
        {
            if (_rejected++ % 1_000 == 0)
                _logger.LogWarning("Rejected quote {Symbol} bid {Bid} ask {Ask} ({Count} so far)",
                    quote.Symbol, quote.Bid, quote.Ask, _rejected);
            return QuoteOutcome.Rejected;
        }

        ref var s = ref _slots[i];
        s.Bid = quote.Bid;
        s.Ask = quote.Ask;
        s.HasQuote = true;
        s.LastQuoteMs = nowMs;
        if (s.Stale)
        {
            s.Stale = false;
            _logger.LogInformation("Prices for {Symbol} are flowing again", s.Symbol);
        }
        if (s.EverEmitted && nowMs - s.LastEmitMs < _intervalMs)
        {
            s.Pending = true;
            return QuoteOutcome.Held;
        }
        Emit(ref s, nowMs);
        return QuoteOutcome.Emitted;
    }

    /// <summary>Sends what is due; call it several times per interval.</summary>
    public void Flush(long nowMs)
    {
        for (var i = 0; i < _slots.Length; i++)
        {
            ref var s = ref _slots[i];
            if (!s.HasQuote || nowMs - s.LastEmitMs < _intervalMs)
                continue;
            if (s.Pending)
            {
                Emit(ref s, nowMs);
            }
            else if (_staleAfterMs == 0 || nowMs - s.LastQuoteMs < _staleAfterMs)
            {
                _resent++;
                Emit(ref s, nowMs);
            }
            else if (!s.Stale)
            {
                s.Stale = true;
                _logger.LogWarning("No price for {Symbol} for {Ms} ms: no longer re-sending its last price",
                    s.Symbol, nowMs - s.LastQuoteMs);
            }
        }
    }

    private void Emit(ref Slot s, long nowMs)
    {
        s.Pending = false;
        s.EverEmitted = true;
        s.LastEmitMs = nowMs;
        _emitted++;
        _emit(s.Asset, s.Bid, s.Ask);
    }
}
