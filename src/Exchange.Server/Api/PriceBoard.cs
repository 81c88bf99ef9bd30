using Exchange.Engine;

namespace Exchange.Server.Api;

/// <summary>The latest quote per asset as sent to the engine; read by the prices endpoint and the push stream.</summary>
public sealed class PriceBoard(EngineConfig config)
{
    private readonly PriceView?[] _latest = new PriceView?[config.Assets.Count];

    public event Action<PriceView>? Changed;

    public void Update(AssetId asset, Price bid, Price ask, long timestampMs)
    {
        var view = new PriceView(config.Assets[asset.Index].Symbol, bid.ToDecimal(), ask.ToDecimal(), timestampMs);
        Volatile.Write(ref _latest[asset.Index], view);
        Changed?.Invoke(view);
    }

    public IReadOnlyList<PriceView> All() => [.. _latest.Where(p => p is not null).Select(p => p!)];
}
