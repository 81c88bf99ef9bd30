using Exchange.Engine;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Exchange.Server.Api;

/// <summary>/api/v1/assets and /prices: public market data.</summary>
public static class MarketApi
{
    public static IEndpointRouteBuilder MapMarketApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1").WithTags("Market");
        api.MapGet("/assets", (EngineConfig config) => JsonReply.Ok(Assets(config))).WithSummary("Tradable assets and their limits");
        api.MapGet("/prices", (PriceBoard board) => JsonReply.Ok(board.All())).WithSummary("Latest bid and ask per asset");
        return app;
    }

    private static List<AssetView> Assets(EngineConfig config) =>
        [.. config.Assets.Select(a => new AssetView(a.Symbol, a.MaxLeverage, a.MaintenanceMarginPpm / 1_000_000m,
            a.MinMargin.ToDecimal(), a.MaxMargin.ToDecimal()))];
}
