using System.Diagnostics;
using System.Security.Claims;
using System.Text.Json;
using Exchange.Engine;
using Exchange.Journal;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Exchange.Server.Api;

/// <summary>POST /api/v1/engine: the seed's single command endpoint and envelope.</summary>
public static class EngineApi
{
    /// <summary>Order entry's path; SocketThreads keeps requests to it on the thread that read them.</summary>
    public const string Route = "/api/v1/engine";

    public static IEndpointRouteBuilder MapEngineApi(this IEndpointRouteBuilder app)
    {
        app.MapPost(Route, HandleAsync)
            .RequireAuthorization()
            .WithTags("Engine")
            .WithSummary("Run an engine command (CREATE_ACCOUNT, GET_BALANCE, GET_USD_BALANCE, CREATE_TRADE, CLOSE_TRADE)")
            .Accepts<EngineRequest>("application/json")
            .Produces<EngineEnvelope>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    private static async Task<IResult> HandleAsync(HttpRequest request, ClaimsPrincipal principal, OrderEntry orders)
    {
        var startedAt = Stopwatch.GetTimestamp();
        var (body, problem) = await ApiProblem.ReadJsonAsync(request, ApiJsonContext.Default.EngineRequest);
        if (problem is not null) return Refused(problem, startedAt);
        var (input, invalid) = ToInput(body!);
        if (invalid is not null) return Refused(invalid, startedAt);
        if (!request.TryGetIdempotencyKey(out var key, out var badKey)) return Refused(badKey!, startedAt);
        var outcome = await orders.SubmitAsync(principal.UserId(), input, key);
        return Envelope(outcome);
    }

    /// <summary>
    /// A command refused before it reached the engine (a body or field that cannot be one) answers
    /// in the seed's envelope too, as the engine's own refusals do: a client reads success,
    /// engineResponse and latency whichever step said no. No order was made, so orderId is null.
    /// </summary>
    private static ProblemHttpResult Refused(ProblemHttpResult problem, long startedAt) =>
        WithEnvelope(problem, orderId: null, OrderEntry.LatencyMs(Stopwatch.GetElapsedTime(startedAt)));

    /// <summary>The seed's envelope on a refusal's problem document: its code and detail as the engine's response.</summary>
    private static ProblemHttpResult WithEnvelope(ProblemHttpResult problem, Guid? orderId, decimal? latencyMs)
    {
        var details = problem.ProblemDetails;
        var code = details.Extensions.TryGetValue("code", out var c) ? c as string : null;
        details.Extensions["success"] = false;
        details.Extensions["orderId"] = orderId;
        details.Extensions["engineResponse"] = new EngineResponse("error", null, details.Detail ?? "", code);
        details.Extensions["latency"] = latencyMs;
        return problem;
    }

    /// <summary>The seed's envelope; a rejection is also a problem document (same body, problem+json, 4xx).</summary>
    public static IResult Envelope(OrderOutcome outcome)
    {
        if (outcome.Success)
        {
            return JsonReply.Ok(new EngineEnvelope(true, outcome.OrderId,
                new EngineResponse("success", outcome.Data, RejectCode.None.Message()), outcome.LatencyMs));
        }
        var code = outcome.Code;
        return WithEnvelope(ApiProblem.For(outcome.HttpStatus, code.Name(), code.Message()), outcome.OrderId, outcome.LatencyMs);
    }

    /// <summary>Checks the shape of a command (the engine checks the values) and builds the engine input.</summary>
    internal static (EngineInput Input, ProblemHttpResult? Problem) ToInput(EngineRequest body)
    {
        var input = new EngineInput();
        switch (body.Command)
        {
            case "CREATE_ACCOUNT": input.Kind = InputKind.CreateAccount; break;
            case "GET_BALANCE": input.Kind = InputKind.GetBalance; break;
            case "GET_USD_BALANCE": input.Kind = InputKind.GetUsdBalance; break;
            case "CREATE_TRADE":
                input.Kind = InputKind.CreateTrade;
                var problem = TradeFields(ref input, body.Asset, body.Direction, body.Margin, body.Leverage, body.StopLossPrice, body.TakeProfitPrice);
                if (problem is not null) return (input, problem);
                break;
            case "CLOSE_TRADE":
                input.Kind = InputKind.CloseTrade;
                if (body.TradeId is null) return (input, Missing("tradeId"));
                if (!TradeId.TryParse(body.TradeId, out input.TradeId))
                    return (input, ApiProblem.BadRequest("INVALID_TRADE_ID", "tradeId must be the 32 hex digits returned by CREATE_TRADE."));
                break;
            case null:
                return (input, Missing("command"));
            default:
                return (input, ApiProblem.BadRequest("UNKNOWN_COMMAND",
                    "command must be one of CREATE_ACCOUNT, GET_BALANCE, GET_USD_BALANCE, CREATE_TRADE, CLOSE_TRADE."));
        }
        return (input, null);
    }

    internal static ProblemHttpResult? TradeFields(ref EngineInput input, string? asset, string? direction, decimal? margin,
        decimal? leverage, decimal? stopLoss, decimal? takeProfit)
    {
        if (asset is null) return Missing("asset");
        if (direction is null) return Missing("direction");
        if (margin is null) return Missing("margin");
        if (leverage is null) return Missing("leverage");
        if (!EngineReplies.TryParseDirection(direction, out input.Direction))
            return ApiProblem.BadRequest("INVALID_DIRECTION", "direction must be LONG or SHORT.");
        // The engine answers UNKNOWN_ASSET for any other unknown asset; one too long for the
        // journal's record never reaches it.
        if (!InputCodec.SymbolFits(asset))
            return ApiProblem.BadRequest("UNKNOWN_ASSET", "Unknown asset: GET /api/v1/assets lists the ones traded here.");
        input.Symbol = asset;
        input.Margin = margin.Value;
        input.Leverage = leverage.Value;
        input.StopLossPrice = stopLoss;
        input.TakeProfitPrice = takeProfit;
        return null;
    }

    private static ProblemHttpResult Missing(string field) =>
        ApiProblem.BadRequest("MISSING_FIELD", $"The field '{field}' is required.");
}
