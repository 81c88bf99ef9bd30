using System.Security.Claims;
using System.Text.Json;
using Exchange.Data;
using Exchange.Engine;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Server.Api;

/// <summary>/api/v1/trades, /balance and /orders: the resource view of a trader's account.</summary>
public static class TradesApi
{
    private const int MaxPage = 200;

    public static IEndpointRouteBuilder MapTradesApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1").RequireAuthorization().WithTags("Trading");
        api.MapGet("/balance", BalanceAsync).WithSummary("Free USD, locked margin and equity");
        api.MapGet("/trades", ListAsync).WithSummary("Open trades (live PnL) or closed trades (paged history)")
            .WithDescription("status=open (the default) answers a page of open trades as below; status=closed a page of closed ones " +
                "(close price, reason, PnL and payout added), newest first, limit 1-200, nextCursor for the next page (before=; a number " +
                "alone means the trades closed before that Unix millisecond).")
            .Produces<TradePage<OpenTradeView>>().ProducesProblem(StatusCodes.Status400BadRequest);
        api.MapPost("/trades", OpenAsync).WithSummary("Open a trade").Accepts<OpenTradeRequest>("application/json")
            .Produces<TradeData>(StatusCodes.Status201Created).ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status422UnprocessableEntity);
        api.MapPost("/trades/{tradeId}/close", CloseAsync).WithSummary("Close an open trade at the market")
            .Produces<CloseTradeData>().ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        api.MapGet("/orders/{orderId}", OrderAsync).WithSummary("The outcome of any command by its order id");
        return app;
    }

    private static async Task<Results<JsonOk<BalanceData>, ProblemHttpResult>> BalanceAsync(ClaimsPrincipal principal, OrderEntry orders)
    {
        var reply = await orders.QueryAsync(principal.UserId(), InputKind.GetBalance);
        return reply.Accepted ? JsonReply.Ok(EngineReplies.Balance(in reply)) : Rejected(reply.Code);
    }

    private static async Task<IResult> ListAsync(ClaimsPrincipal principal, OrderEntry orders, ExchangeDbContext db,
        EventRecorder recorder, RecentCloses closes, ExchangeSettings settings, string? status, int? limit, string? before)
    {
        var user = principal.UserId();
        if (status is null or "open")
        {
            var reply = await orders.QueryAsync(user, InputKind.GetOpenTrades);
            if (!reply.Accepted) return Rejected(reply.Code);
            var open = reply.OpenTrades!.Select(v => EngineReplies.OpenTrade(in v, orders.Config)).ToList();
            return JsonReply.Ok(new TradePage<OpenTradeView>(open, null));
        }
        if (status != "closed") return ApiProblem.BadRequest("INVALID_STATUS", "status must be 'open' or 'closed'.");
        var take = limit ?? 50;
        if (take is < 1 or > MaxPage) return ApiProblem.BadRequest("INVALID_LIMIT", $"limit must be between 1 and {MaxPage}.");
        if (!HistoryCursor.TryParse(before, out var cursor))
            return ApiProblem.BadRequest("INVALID_CURSOR", "before must be a nextCursor from an earlier page, or a Unix time in milliseconds.");
        // Read your own closes: what the engine already told this trader is in the database too.
        // A slow database shows slightly older history rather than failing the request.
        var latestClose = closes.LatestOf(user);
        if (latestClose > recorder.RecordedEventSequence) await recorder.TryWhenRecordedAsync(latestClose, settings.HistoryWait);
        var query = db.Trades.AsNoTracking().Where(t => t.UserId == user && t.Status == "closed");
        // One tick can close many trades in the same millisecond: the trade id orders them, so a
        // page never ends half-way through them and loses the rest.
        if (cursor is { TradeId: { } lastId } after)
            query = query.Where(t => t.ClosedAtMs <= after.ClosedAtMs // a range the (user, close time) index serves; the rest filters within it
                && (t.ClosedAtMs < after.ClosedAtMs || string.Compare(t.TradeId, lastId) < 0));
        else if (cursor is { } older)
            query = query.Where(t => t.ClosedAtMs < older.ClosedAtMs);
        var rows = await query.OrderByDescending(t => t.ClosedAtMs).ThenByDescending(t => t.TradeId).Take(take + 1).ToListAsync();
        var page = rows.Take(take).Select(t => new ClosedTradeView(t.TradeId, t.Asset, t.Direction, Plain(t.OpenPrice), Plain(t.Quantity),
            Plain(t.Margin), t.Leverage, Plain(t.LiquidationPrice), Plain(t.StopLossPrice), Plain(t.TakeProfitPrice), t.OpenedAtMs,
            Plain(t.ClosePrice), t.CloseReason, Plain(t.Pnl), Plain(t.Payout), t.ClosedAtMs)).ToList();
        var next = rows.Count > take ? new HistoryCursor(page[^1].ClosedAt ?? 0, page[^1].TradeId).ToString() : null;
        return JsonReply.Ok(new TradePage<ClosedTradeView>(page, next));
    }

    private static async Task<IResult> OpenAsync(HttpRequest request, ClaimsPrincipal principal, OrderEntry orders)
    {
        var (body, problem) = await ApiProblem.ReadJsonAsync(request, ApiJsonContext.Default.OpenTradeRequest);
        if (problem is not null) return problem;
        var input = new EngineInput { Kind = InputKind.CreateTrade };
        if (EngineApi.TradeFields(ref input, body!.Asset, body.Direction, body.Margin, body.Leverage, body.StopLossPrice, body.TakeProfitPrice) is { } invalid)
            return invalid;
        if (!request.TryGetIdempotencyKey(out var key, out var badKey)) return badKey!;
        var outcome = await orders.SubmitAsync(principal.UserId(), input, key);
        return outcome.Success ? JsonReply.Created("/api/v1/trades?status=open", outcome.Data) : EngineApi.Envelope(outcome);
    }

    private static async Task<IResult> CloseAsync(string tradeId, HttpRequest request, ClaimsPrincipal principal, OrderEntry orders)
    {
        // A malformed id cannot name anybody's trade: same answer as an unknown one.
        if (!TradeId.TryParse(tradeId, out var id)) return Rejected(RejectCode.TradeNotFound);
        if (!request.TryGetIdempotencyKey(out var key, out var badKey)) return badKey!;
        var input = new EngineInput { Kind = InputKind.CloseTrade, TradeId = id };
        var outcome = await orders.SubmitAsync(principal.UserId(), input, key);
        return outcome.Success ? JsonReply.Ok(outcome.Data) : EngineApi.Envelope(outcome);
    }

    private static async Task<Results<JsonOk<OrderView>, ProblemHttpResult>> OrderAsync(string orderId, ClaimsPrincipal principal, OrderEntry orders)
    {
        // Like a malformed trade id, a malformed order id names no order: the same 404 as an unknown one.
        if (!Guid.TryParse(orderId, out var id)) return ApiProblem.NotFound("ORDER_NOT_FOUND", "No such order.");
        var (outcome, complete) = await orders.FindAsync(principal.UserId(), id);
        if (outcome is null && !complete) // answered as a keyed retry that cannot be looked up yet is (FailureAnswers)
            throw new OrderHistoryBehindException("Recent orders are still being written to the audit trail; try again in a moment.");
        if (outcome is null) return ApiProblem.NotFound("ORDER_NOT_FOUND", "No such order.");
        return JsonReply.Ok(new OrderView(outcome.OrderId, outcome.Command, outcome.Status, outcome.Code.Name(),
            outcome.Code.Message(), outcome.Sequence, outcome.LatencyMs, outcome.CreatedAtMs, outcome.Data));
    }

    /// <summary>
    /// Without trailing zeros: a database hands decimals back with its column's scale (PostgreSQL's
    /// numeric(_, 8) gives 94987.09000000, SQLite's text 1000.0), where the engine's replies say
    /// 94987.09 and 1000; the same trade reads the same from both.
    /// </summary>
    internal static decimal Plain(decimal value) => value / 1.0000000000000000000000000000m;

    internal static decimal? Plain(decimal? value) => value is { } v ? Plain(v) : null;

    private static ProblemHttpResult Rejected(RejectCode code)
    {
        code = EngineReplies.Public(code);
        return ApiProblem.For(EngineReplies.StatusCode(code), code.Name(), code.Message());
    }
}
