namespace Exchange.Engine;

/// <summary>What can be traded and the risk limits for it.</summary>
public sealed record AssetSpec(string Symbol)
{
    public int MaxLeverage { get; init; } = 100;

    /// <summary>Maintenance margin ratio in parts per million of the opening notional (5000 = 0.5 %).</summary>
    public int MaintenanceMarginPpm { get; init; } = 5_000;

    public Usd MinMargin { get; init; } = new(1_00);
    public Usd MaxMargin { get; init; } = new(10_000_000_00);
}

public sealed record EngineConfig
{
    public static readonly IReadOnlyList<AssetSpec> DefaultAssets =
        [new AssetSpec("BTC_USDC"), new AssetSpec("ETH_USDC"), new AssetSpec("SOL_USDC")];

    public IReadOnlyList<AssetSpec> Assets { get; init; } = DefaultAssets;

    /// <summary>Demo balance credited by CREATE_ACCOUNT.</summary>
    public Usd InitialBalance { get; init; } = new(5_000_00);

    /// <summary>A price older than this (by the log's clock) cannot be traded on.</summary>
    public long PriceMaxAgeMs { get; init; } = 10_000;

    public bool TryFindAsset(string? symbol, out AssetId asset)
    {
        for (var i = 0; i < Assets.Count; i++)
        {
            if (string.Equals(Assets[i].Symbol, symbol, StringComparison.OrdinalIgnoreCase))
            {
                asset = new AssetId(i);
                return true;
            }
        }
        asset = default;
        return false;
    }
}
