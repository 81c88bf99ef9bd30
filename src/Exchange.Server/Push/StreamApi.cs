using System.Security.Claims;
using Exchange.Data;
using Exchange.Journal;
using Exchange.Server.Api;
using Exchange.Server.Auth;

namespace Exchange.Server.Push;

/// <summary>
/// WebSocket /api/v1/stream: prices for everyone; with the auth cookie (or Bearer), from the
/// exchange's own pages or a program, also the trader's own trade_opened / trade_closed /
/// balance messages. Protocol in web/README.md.
/// </summary>
public static class StreamApi
{
    public const string Path = "/api/v1/stream";
    public const string RateLimitPolicy = "stream";

    public static IEndpointRouteBuilder MapStreamApi(this IEndpointRouteBuilder app)
    {
        app.Map(Path, async (HttpContext http, ClaimsPrincipal principal, PushHub hub, IHostApplicationLifetime lifetime,
            SignedOutTokens signedOut, TimeProvider time, ExchangeSettings settings) =>
        {
            if (!http.WebSockets.IsWebSocketRequest)
                return ApiProblem.BadRequest("WEBSOCKET_REQUIRED", "Connect with a WebSocket upgrade.");
            // Every open stream costs memory and a wake-up per price tick. A fifth of the places
            // are kept for signed-in traders: streams need no account, so many addresses could
            // otherwise take them all.
            // From a page of another origin the cookie came along uninvited: that page gets what any
            // page gets, prices, and no refusal that would tell it whether its visitor is signed in.
            Guid? user = principal.Identity?.IsAuthenticated == true && FromOwnPageOrNotABrowser(http.Request) ? principal.UserId() : null;
            // Per trader as per address: each of a trader's streams asks the engine for the balance
            // on every change of it, so one token used from many addresses must not multiply that.
            var place = hub.TakePlace(user, user is null ? settings.MaxStreams - settings.MaxStreams / 5 : settings.MaxStreams, settings.StreamsPerClient);
            if (place != StreamPlace.Taken)
            {
                http.Response.Headers.RetryAfter = "5";
                return place == StreamPlace.ExchangeFull
                    ? ApiProblem.For(StatusCodes.Status503ServiceUnavailable, "STREAMS_FULL",
                        "The exchange has as many streams open as it serves; try again in a moment.")
                    : ApiProblem.For(StatusCodes.Status429TooManyRequests, "RATE_LIMITED",
                        $"Too many streams open for this trader (at most {settings.StreamsPerClient}): close one first.");
            }
            try
            {
                using var socket = await http.WebSockets.AcceptWebSocketAsync();
                await hub.ServeAsync(socket, user, lifetime.ApplicationStopping, user is null ? null : StillSignedIn(principal, signedOut, time));
            }
            finally
            {
                hub.ReleasePlace(user);
            }
            return Results.Empty;
        }).RequireRateLimiting(RateLimitPolicy).ExcludeFromDescription();
        return app;
    }

    /// <summary>Until the token is signed out of or expires: then the socket closes, at its next message or ping.</summary>
    private static Func<bool> StillSignedIn(ClaimsPrincipal principal, SignedOutTokens signedOut, TimeProvider time)
    {
        var tokenId = principal.FindFirstValue(AuthTokens.TokenIdClaim);
        var expiresAtMs = AuthTokens.ExpiresAtMs(principal) ?? long.MaxValue;
        return () => (tokenId is null || !signedOut.IsSignedOut(tokenId)) && time.GetUtcNow().ToUnixTimeMilliseconds() < expiresAtMs;
    }

    /// <summary>
    /// Browsers send Origin on every WebSocket handshake, and the auth cookie with it even from a
    /// page of another origin on the same site (another port of this host, a sibling subdomain:
    /// SameSite does not stop those), which must not read a trader's stream. Prices stay open to
    /// any page; programs that are not browsers send no Origin.
    /// </summary>
    private static bool FromOwnPageOrNotABrowser(HttpRequest request)
    {
        var origin = request.Headers.Origin;
        if (origin.Count == 0) return true;
        if (origin.Count != 1 || !Uri.TryCreate(origin[0], UriKind.Absolute, out var page)) return false;
        // A plain-http page of this host is not the exchange's own when the exchange is served over
        // TLS: anyone on the network can write that page. (An https page is ours even when a TLS
        // proxy hands us plain http.)
        if (request.IsHttps && page.Scheme != Uri.UriSchemeHttps) return false;
        // Behind a proxy that rewrites Host, X-Forwarded-Host names the site the browser was on.
        // Safe to believe: a page cannot set headers on a WebSocket handshake, only Origin is its own.
        return string.Equals(page.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase)
            || request.Headers["X-Forwarded-Host"].Any(h => string.Equals(page.Authority, h, StringComparison.OrdinalIgnoreCase));
    }
}

/// <summary>
/// The engine's one listener: the recorder (durable audit trail: events, and orders through
/// <see cref="OrderHistory"/>) and <see cref="RecentCloses"/> first, then the push hub (live
/// events, replays skipped). It runs on the engine thread, where an exception stops the engine:
/// the audit trail's may, the push hub's must not.
/// </summary>
public sealed class EventFanout(EventRecorder recorder, OrderHistory orders, RecentCloses closes, Lazy<PushHub> hub, ILogger logger) : IEngineEventListener
{
    public long RecordedEventSequence => recorder.RecordedEventSequence;

    public bool IsFailing => recorder.IsFailing;

    public Task FlushAsync() => recorder.FlushAsync();

    public long RecordedCommandSequence => recorder.RecordedOrderSequence;

    public void OnCommands(IReadOnlyList<AnsweredCommand> commands, bool replayed)
    {
        for (var i = 0; i < commands.Count; i++) orders.Record(commands[i], replayed);
    }

    public void OnEvents(IReadOnlyList<object> events, bool replayed)
    {
        recorder.OnEvents(events, replayed);
        closes.Note(events);
        if (replayed) return;
        try
        {
            hub.Value.Publish(events);
        }
        catch (Exception e)
        {
            // Pushes only spare open screens a read: they catch up on their next one. Trading goes on.
            logger.LogError(e, "Pushing {Count} engine events to the open streams failed; the screens catch up when they next read", events.Count);
        }
    }
}
