using System.Runtime.CompilerServices;

namespace Exchange.Feed.Simulated;

/// <summary>
/// A seeded random walk per asset with a bid/ask spread and occasional jumps: prices that move
/// without a network. The prices depend only on the seed and the number of steps taken, never on
/// the clock, so <see cref="Step"/> replays exactly; <see cref="ReadAsync"/> just steps once per
/// interval and stamps the quotes with the time provider's time. Not thread-safe.
/// </summary>
public sealed class SimulatedPriceSource : IPriceSource
{
    private readonly AssetWalk[] _walks;
    private readonly WalkParameters _parameters;
    private readonly TimeSpan _interval;
    private readonly TimeProvider _time;

    public SimulatedPriceSource(SimulatedOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Assets.Count == 0)
            throw new ArgumentException("no asset to simulate", nameof(options));
        _interval = options.Interval;
        _parameters = Parameters(options);
        _walks = [.. options.Assets.Select(a => new AssetWalk(a, options.Seed))];
        _time = time ?? TimeProvider.System;
    }

    public IReadOnlyList<string> Symbols => [.. _walks.Select(w => w.Symbol)];

    /// <summary>Jumps so far, summed over assets.</summary>
    public long Jumps => _walks.Sum(w => w.Jumps);

    /// <summary>Advances every asset by one interval; one quote per asset, in the options' order.</summary>
    public Quote[] Step(long timestampMs)
    {
        var quotes = new Quote[_walks.Length];
        for (var i = 0; i < _walks.Length; i++)
            quotes[i] = _walks[i].Step(_parameters, timestampMs);
        return quotes;
    }

    /// <summary>Quotes for every asset now, then again every interval until cancelled.</summary>
    public async IAsyncEnumerable<Quote> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_interval, _time);
        while (true)
        {
            foreach (var quote in Step(_time.GetUtcNow().ToUnixTimeMilliseconds()))
                yield return quote;
            if (!await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
                yield break;
        }
    }

    // Per-second settings become per-step integers once, here. Math.Sqrt and the double products
    // are IEEE correctly rounded, so these constants (and hence the walk) are the same everywhere.
    private static WalkParameters Parameters(SimulatedOptions o)
    {
        var intervalMs = (long)o.Interval.TotalMilliseconds;
        if (intervalMs < 1)
            throw new ArgumentOutOfRangeException(nameof(o), "interval must be at least 1 ms");
        if (o.Volatility < 0 || o.Volatility > FeedOptions.MaxVolatility)
            throw new ArgumentOutOfRangeException(nameof(o), $"volatility must be in [0, {FeedOptions.MaxVolatility}]");
        if (o.JumpMin < 0 || o.JumpMax < o.JumpMin || o.JumpMax > 0.5m)
            throw new ArgumentOutOfRangeException(nameof(o), "jumps must satisfy 0 <= JumpMin <= JumpMax <= 0.5");

        var sigmaPpb = (long)Math.Round((double)o.Volatility * 1e9 * Math.Sqrt(intervalMs / 1000.0));

        var halfLifeMs = (long)o.MeanReversionHalfLife.TotalMilliseconds;
        var reversionPpb = halfLifeMs > 0 ? (long)Math.Round(0.6931471805599453m * intervalMs / halfLifeMs * 1e9m) : 0;

        var jumpEveryMs = (long)o.MeanTimeBetweenJumps.TotalMilliseconds;
        if (jumpEveryMs > 0 && jumpEveryMs <= intervalMs)
            throw new ArgumentOutOfRangeException(nameof(o), "mean time between jumps must be longer than the interval");

        return new WalkParameters(sigmaPpb, Math.Min(reversionPpb, 1_000_000_000),
            JumpChance: (ulong)intervalMs, JumpOutOf: jumpEveryMs > 0 ? (ulong)jumpEveryMs : 0,
            (long)(o.JumpMin * 1e9m), (long)(o.JumpMax * 1e9m));
    }
}
