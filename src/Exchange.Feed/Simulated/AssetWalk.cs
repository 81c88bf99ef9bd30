using Exchange.Engine;

namespace Exchange.Feed.Simulated;

/// <summary>Per-step constants shared by every asset, in parts per billion (ppb) of the price.</summary>
internal readonly record struct WalkParameters(
    long SigmaPpb, long ReversionPpb, ulong JumpChance, ulong JumpOutOf, long JumpMinPpb, long JumpMaxPpb);

/// <summary>
/// One asset's random walk. The mid price is a long at the 1e-8 price scale and every step is
/// integer arithmetic, so a seed gives bit-identical prices on every machine and runtime.
/// </summary>
internal sealed class AssetWalk
{
    private const long Billion = 1_000_000_000;
    private const long Q32 = 1L << 32;

    private readonly Xoshiro256 _random;
    private readonly long _anchor, _tick, _halfSpreadPpb, _minMid, _maxMid;

    public AssetWalk(SimulatedAsset asset, long seed)
    {
        Symbol = asset.Symbol;
        if (asset.StartPrice > SimulatedAsset.MaxStartPrice || asset.TickSize > asset.StartPrice)
            throw new ArgumentOutOfRangeException(nameof(asset), $"{asset.Symbol}: start price above 100,000,000 or below the tick");
        _anchor = ToRaw(asset.StartPrice, nameof(asset.StartPrice));
        _tick = ToRaw(asset.TickSize, nameof(asset.TickSize));
        if (asset.SpreadBps <= 0 || asset.SpreadBps > 1_000)
            throw new ArgumentOutOfRangeException(nameof(asset), $"{asset.Symbol}: spread must be in (0, 1000] bps");
        _halfSpreadPpb = (long)(asset.SpreadBps * 100_000m / 2);
        // Bounds only guard against absurd settings; with the defaults the walk never gets near them.
        _minMid = Math.Max(_anchor / 100, 10 * _tick);
        _maxMid = _anchor * 100;
        Mid = _anchor;
        // Each asset has its own stream keyed by its symbol, so BTC's path does not change when
        // SOL is added or removed. string.GetHashCode is randomized per process: hash by hand.
        _random = new Xoshiro256(unchecked((ulong)seed) ^ Fnv1a(asset.Symbol.ToUpperInvariant()));
    }

    public string Symbol { get; }

    /// <summary>The current mid price (raw, 1e-8).</summary>
    public long Mid { get; private set; }

    public long Jumps { get; private set; }

    public Quote Step(in WalkParameters p, long timestampMs)
    {
        // Irwin–Hall: 12 uniforms summed minus 6 has mean 0 and variance 1, a close enough normal
        // (its tails stop at ±6σ; the jumps below supply the fat tails). Integers only, no Math.Exp.
        long sum = 0;
        for (var i = 0; i < 12; i++)
            sum += (long)(_random.Next() >> 32);
        var z = sum - 6 * Q32; // z × 2^32
        var movePpb = (long)((Int128)p.SigmaPpb * z >> 32);

        var next = Mid + MulDiv(Mid, movePpb, Billion) - MulDiv(Mid - _anchor, p.ReversionPpb, Billion);

        if (p.JumpOutOf != 0 && _random.Below(p.JumpOutOf) < p.JumpChance)
        {
            var size = p.JumpMinPpb + (long)_random.Below((ulong)(p.JumpMaxPpb - p.JumpMinPpb + 1));
            if ((_random.Next() & 1) == 0)
                size = -size;
            next += MulDiv(next, size, Billion);
            Jumps++;
        }

        Mid = Math.Clamp(next, _minMid, _maxMid);
        return Quoted(timestampMs);
    }

    // Bid rounded down and ask rounded up to the tick, so the spread is never under the target
    // and never under one tick; _minMid keeps the bid at least a few ticks above zero.
    private Quote Quoted(long timestampMs)
    {
        var half = MulDiv(Mid, _halfSpreadPpb, Billion);
        var bid = (Mid - half) / _tick * _tick;
        var ask = (Mid + half + _tick - 1) / _tick * _tick;
        if (ask <= bid)
            ask = bid + _tick;
        return new Quote(Symbol, new Price(bid), new Price(ask), timestampMs);
    }

    // a × b / d truncated, exact: 128-bit only when the product needs it (Int128 division is slow).
    // Mid ≤ 100 × start ≤ 1e18 and moves stay under a few × Mid, so every sum above fits a long.
    private static long MulDiv(long a, long b, long d)
    {
        var high = Math.BigMul(a, b, out long low);
        return high == low >> 63 ? low / d : (long)((Int128)a * b / d);
    }

    private static long ToRaw(decimal value, string name)
    {
        var raw = value * Price.Scale;
        if (value <= 0 || raw != decimal.Truncate(raw))
            throw new ArgumentOutOfRangeException(name, $"{value} must be positive with at most {Price.Decimals} decimals");
        return (long)raw;
    }

    private static ulong Fnv1a(string text)
    {
        var hash = 14695981039346656037UL;
        foreach (var c in text)
            hash = (hash ^ c) * 1099511628211UL;
        return hash;
    }
}
