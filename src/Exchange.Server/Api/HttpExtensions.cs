using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Exchange.Server.Api;

internal static class HttpExtensions
{
    /// <summary>The signed-in trader (the JWT's subject). Endpoints that call this require authorization.</summary>
    public static Guid UserId(this ClaimsPrincipal principal) =>
        Guid.Parse(principal.FindFirstValue(ClaimTypes.NameIdentifier) ?? principal.FindFirstValue("sub")!);

    /// <summary>As long as the orders table's column (PostgreSQL enforces it; a longer key would fail its insert).</summary>
    public const int MaxIdempotencyKeyLength = 128;

    /// <summary>
    /// The Idempotency-Key header, if any. A key that cannot be honoured (too long, or sent
    /// twice) is a 400, never silently ignored: ignoring it would let a retry run twice.
    /// </summary>
    public static bool TryGetIdempotencyKey(this HttpRequest request, out string? key, out ProblemHttpResult? problem)
    {
        key = null;
        problem = null;
        if (!request.Headers.TryGetValue("Idempotency-Key", out var values)) return true;
        if (values.Count != 1 || values[0] is not { Length: > 0 and <= MaxIdempotencyKeyLength } single || !Exchange.Journal.InputCodec.KeyFits(single))
        {
            problem = ApiProblem.BadRequest("INVALID_IDEMPOTENCY_KEY",
                $"Send one Idempotency-Key of 1 to {MaxIdempotencyKeyLength} characters ({Exchange.Journal.InputCodec.MaxSymbolBytes} bytes in UTF-8).");
            return false;
        }
        key = single;
        return true;
    }
}
