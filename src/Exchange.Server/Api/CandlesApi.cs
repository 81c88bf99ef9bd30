using System.Globalization;
using Exchange.Data;
using Exchange.Engine;
using Exchange.Feed;
using Exchange.Feed.Simulated;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Server.Api;

/// <summary>One OHLC bar of bid prices; <c>time</c> is its bucket's open, Unix milliseconds.</summary>
public sealed record CandleView(long Time, decimal Open, decimal High, decimal Low, decimal Close);

/// <summary>
/// /api/v1/candles: public chart history. Candles are built from every price the board sees
/// (the feed's ticks) by the <see cref="CandleRecorder"/>, which also invents a year of history
/// for an empty database unless <c>CANDLE_BACKFILL=false</c>.
/// </summary>
public static class CandlesApi
{
    public const int DefaultLimit = 500, MaxLimit = 1_000;

    /// <summary>The candle recorder, fed from the <see cref="PriceBoard"/>; register after the database.</summary>
    public static IServiceCollection AddCandles(this IServiceCollection services, ExchangeSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        services.AddSingleton(sp =>
        {
            var options = new CandleRecorderOptions
            {
                Assets = [.. settings.Engine.Assets.Select(a => a.Symbol)],
                // Invented history belongs beside invented prices only: under a real exchange's
                // prices (or a replay) it would chart a year that never happened, and its last
                // candle would open at the simulator's price with real ticks going into it.
                Backfill = settings.CandleBackfill && settings.Feed.Source == FeedOptions.Simulated ? Backfill(settings) : null,
            };
            var recorder = new CandleRecorder(sp.GetRequiredService<IDbContextFactory<ExchangeDbContext>>(),
                options, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<CandleRecorder>>());
            sp.GetRequiredService<PriceBoard>().Changed += price => recorder.OnTick(price.Asset, price.Bid, price.Timestamp);
            return recorder;
        });
        services.AddHostedService(sp => sp.GetRequiredService<CandleRecorder>());
        return services;
    }

    /// <summary>The simulator's markets for the engine's assets it knows, with the feed's seed and volatility.</summary>
    private static CandleBackfillOptions? Backfill(ExchangeSettings settings)
    {
        var assets = settings.Engine.Assets
            .Select(a => SimulatedAsset.FindDefault(a.Symbol) is { } market ? market with { Symbol = a.Symbol } : null)
            .OfType<SimulatedAsset>().ToList();
        return assets.Count == 0
            ? null
            : new CandleBackfillOptions
            {
                Market = new SimulatedOptions { Assets = assets, Seed = settings.Feed.Seed, Volatility = settings.Feed.Volatility },
            };
    }

    public static IEndpointRouteBuilder MapCandlesApi(this IEndpointRouteBuilder app)
    {
        app.MapGroup("/api/v1").WithTags("Market")
            .MapGet("/candles", CandlesAsync)
            .WithSummary("OHLC candles of bid prices, oldest first")
            .WithDescription("asset: a symbol from /assets. interval: 1m, 5m, 15m, 1h, 4h or 1d. from, to: Unix milliseconds, " +
                "candles whose open time is in [from, to] (default: all). limit: 1 to 1000 (default 500), the latest ones. " +
                "The last candle may still be open.");
        return app;
    }

    private static async Task<Results<JsonOk<List<CandleView>>, ProblemHttpResult>> CandlesAsync(EngineConfig config, CandleRecorder candles,
        string? asset, string? interval, [FromQuery(Name = "from")] string? fromText,
        [FromQuery(Name = "to")] string? toText, [FromQuery(Name = "limit")] string? limitText,
        CancellationToken cancellationToken)
    {
        if (!config.TryFindAsset(asset, out var id))
            return ApiProblem.BadRequest("UNKNOWN_ASSET",
                $"asset must be one of {string.Join(", ", config.Assets.Select(a => a.Symbol))}.");
        if (!CandleInterval.TryParse(interval, out var width))
            return ApiProblem.BadRequest("INVALID_INTERVAL",
                $"interval must be one of {string.Join(", ", CandleInterval.All.Select(i => i.Name))}.");
        if (!TryMilliseconds(fromText, 0, out var from) || !TryMilliseconds(toText, long.MaxValue, out var to))
            return ApiProblem.BadRequest("INVALID_RANGE", "from and to must be Unix milliseconds: whole numbers, 0 or more.");
        if (from > to)
            return ApiProblem.BadRequest("INVALID_RANGE", "from must not be after to.");
        var limit = DefaultLimit;
        if (!string.IsNullOrEmpty(limitText) &&
            (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MaxLimit))
            return ApiProblem.BadRequest("INVALID_LIMIT", $"limit must be a whole number from 1 to {MaxLimit}.");

        var rows = await candles.QueryAsync(config.Assets[id.Index].Symbol, width, from, to, limit, cancellationToken);
        return JsonReply.Ok(rows.ConvertAll(c => new CandleView(c.OpenTimeMs, TradesApi.Plain(c.Open), TradesApi.Plain(c.High), TradesApi.Plain(c.Low), TradesApi.Plain(c.Close))));
    }

    private static bool TryMilliseconds(string? text, long fallback, out long value)
    {
        value = fallback;
        return string.IsNullOrEmpty(text) || long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }
}
