using Exchange.Feed.Simulated;

namespace Exchange.Feed.Exchanges;

/// <summary>
/// Exponential back-off with "equal jitter": attempt n waits between half and all of
/// min(max, base × 2^n). The fixed half keeps a failing exchange from being hammered; the random
/// half spreads out reconnecting clients. Seeded, so a test sees the same delays every run.
/// </summary>
internal sealed class ReconnectBackoff
{
    private readonly TimeSpan _base, _max;
    private readonly Xoshiro256 _random;

    public ReconnectBackoff(TimeSpan baseDelay, TimeSpan maxDelay, ulong seed)
    {
        if (baseDelay <= TimeSpan.Zero || maxDelay < baseDelay)
            throw new ArgumentOutOfRangeException(nameof(baseDelay), "need 0 < base delay <= max delay");
        _base = baseDelay;
        _max = maxDelay;
        _random = new Xoshiro256(seed);
    }

    /// <summary>The ceiling for <paramref name="attempt"/> (0 = the first retry), before jitter.</summary>
    public TimeSpan Ceiling(int attempt)
    {
        var ticks = _base.Ticks;
        for (var i = 0; i < attempt && ticks < _max.Ticks; i++)
            ticks *= 2;
        return TimeSpan.FromTicks(Math.Min(ticks, _max.Ticks));
    }

    public TimeSpan Delay(int attempt)
    {
        var ceiling = Ceiling(attempt).Ticks;
        var half = ceiling / 2;
        return TimeSpan.FromTicks(ceiling - half + (long)_random.Below((ulong)half + 1));
    }
}
