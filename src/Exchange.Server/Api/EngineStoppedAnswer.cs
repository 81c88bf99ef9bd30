using Exchange.Journal;
using Microsoft.AspNetCore.Diagnostics;

namespace Exchange.Server.Api;

/// <summary>
/// A request that reaches an engine which is shutting down, or whose thread has failed, is a
/// 503 problem with a stable code rather than a bare 500. Shutting down refuses before anything
/// is queued; a failure may catch a command already journaled, so that answer says how to learn
/// the outcome (a retry under the same Idempotency-Key returns it once the exchange is back).
/// </summary>
internal sealed class EngineStoppedAnswer(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not EngineStoppedException stopped) return false;
        var problem = ApiProblem.For(StatusCodes.Status503ServiceUnavailable, "ENGINE_STOPPED",
            stopped.InnerException is null
                ? "The exchange is shutting down; nothing was done. Retry once it is back."
                : "The trading engine stopped after a failure before answering. Once the exchange is restarted, " +
                  "retry with the same Idempotency-Key to learn whether a write went through.");
        http.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        http.Response.Headers.RetryAfter = "5";
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = http, ProblemDetails = problem.ProblemDetails, Exception = exception });
    }
}
