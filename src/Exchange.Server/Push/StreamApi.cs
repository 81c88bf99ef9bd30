using System.Security.Claims;
using Exchange.Data;
using Exchange.Journal;
using Exchange.Server.Api;

namespace Exchange.Server.Push;

/// <summary>
/// WebSocket /api/v1/stream: prices for everyone; with the auth cookie (or Bearer), also the
/// trader's own trade_opened / trade_closed / balance messages. Protocol in web/README.md.
/// </summary>
public static class StreamApi
{
    public static IEndpointRouteBuilder MapStreamApi(this IEndpointRouteBuilder app)
    {
        app.Map("/api/v1/stream", async (HttpContext http, ClaimsPrincipal principal, PushHub hub, IHostApplicationLifetime lifetime) =>
        {
            if (!http.WebSockets.IsWebSocketRequest)
                return ApiProblem.BadRequest("WEBSOCKET_REQUIRED", "Connect with a WebSocket upgrade.");
            Guid? user = principal.Identity?.IsAuthenticated == true ? principal.UserId() : null;
            using var socket = await http.WebSockets.AcceptWebSocketAsync();
            await hub.ServeAsync(socket, user, lifetime.ApplicationStopping);
            return Results.Empty;
        }).ExcludeFromDescription();
        return app;
    }
}

/// <summary>The engine's one event listener: the recorder (durable audit trail) first, then the push hub (live, replays skipped).</summary>
public sealed class EventFanout(EventRecorder recorder, Lazy<PushHub> hub) : IEngineEventListener
{
    public long RecordedEventSequence => recorder.RecordedEventSequence;

    public bool IsFailing => recorder.IsFailing;

    public void OnEvents(IReadOnlyList<object> events, bool replayed)
    {
        recorder.OnEvents(events, replayed);
        if (!replayed) hub.Value.Publish(events);
    }
}
