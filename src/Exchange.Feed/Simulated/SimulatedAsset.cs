namespace Exchange.Feed.Simulated;

/// <summary>One simulated market: where it starts, its tick and its quoted spread.</summary>
public sealed record SimulatedAsset(string Symbol, decimal StartPrice, decimal TickSize, decimal SpreadBps)
{
    /// <summary>Roughly the market at the time of writing, with a CFD broker's spread.</summary>
    public static readonly IReadOnlyList<SimulatedAsset> Defaults =
    [
        new("BTC_USDC", 95_000m, 0.01m, 1m),
        new("ETH_USDC", 3_500m, 0.01m, 1.5m),
        new("SOL_USDC", 240m, 0.001m, 2m),
    ];

    public static SimulatedAsset? FindDefault(string symbol) =>
        Defaults.FirstOrDefault(a => string.Equals(a.Symbol, symbol, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// This market starting from <paramref name="mid"/> (on the tick) instead of its default: a
    /// restarted exchange resumes where its prices were rather than jumping back, which would move
    /// every open position at once. A price the walk cannot start from keeps the default.
    /// </summary>
    public SimulatedAsset ResumingAt(decimal mid)
    {
        var onTick = Math.Round(mid / TickSize, MidpointRounding.AwayFromZero) * TickSize;
        return onTick >= TickSize && onTick <= MaxStartPrice ? this with { StartPrice = onTick } : this;
    }

    /// <summary>Keeps 100 × start (the walk's ceiling) inside a long at the 1e-8 scale.</summary>
    public const decimal MaxStartPrice = 100_000_000m;
}

/// <summary>The simulator's knobs. Rates are per unit of time so changing the interval keeps the market's character.</summary>
public sealed record SimulatedOptions
{
    public IReadOnlyList<SimulatedAsset> Assets { get; init; } = SimulatedAsset.Defaults;

    public long Seed { get; init; } = 1;

    /// <summary>Standard deviation of the relative price change over one second (0.0001 ≈ 56 % a year, crypto-like).</summary>
    public decimal Volatility { get; init; } = 0.0001m;

    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Each asset jumps on average this often, by <see cref="JumpMin"/>..<see cref="JumpMax"/> up or down.</summary>
    public TimeSpan MeanTimeBetweenJumps { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>1 %..3 %: enough to liquidate trades at 50–100× leverage (0.5 % maintenance margin).</summary>
    public decimal JumpMin { get; init; } = 0.01m;

    public decimal JumpMax { get; init; } = 0.03m;

    /// <summary>A weak pull back to the start price, so a demo left running for weeks stays near real levels.</summary>
    public TimeSpan MeanReversionHalfLife { get; init; } = TimeSpan.FromDays(1);
}
