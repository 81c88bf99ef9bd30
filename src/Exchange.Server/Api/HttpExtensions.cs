using System.Security.Claims;

namespace Exchange.Server.Api;

internal static class HttpExtensions
{
    /// <summary>The signed-in trader (the JWT's subject). Endpoints that call this require authorization.</summary>
    public static Guid UserId(this ClaimsPrincipal principal) =>
        Guid.Parse(principal.FindFirstValue(ClaimTypes.NameIdentifier) ?? principal.FindFirstValue("sub")!);

    /// <summary>Idempotency-Key header, if any (at most 200 characters are honoured).</summary>
    public static string? IdempotencyKey(this HttpRequest request) =>
        request.Headers.TryGetValue("Idempotency-Key", out var value) && value.ToString() is { Length: > 0 and <= 200 } key ? key : null;
}
