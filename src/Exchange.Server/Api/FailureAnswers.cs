using Exchange.Journal;
using Microsoft.AspNetCore.Diagnostics;

namespace Exchange.Server.Api;

/// <summary>
/// Failures the order path reports by exception, answered as problems with stable codes rather
/// than a bare 500.
/// <list type="bullet">
/// <item>The engine is shutting down, or its thread has failed: 503 ENGINE_STOPPED. Shutting down
/// refuses before anything is queued; a failure may catch a command already journaled, so that
/// answer says how to learn the outcome (a retry under the same Idempotency-Key returns it once
/// the exchange is back).</item>
/// <item>An Idempotency-Key reused for a different request: 422 IDEMPOTENCY_KEY_REUSED.</item>
/// </list>
/// </summary>
internal sealed class FailureAnswers(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken cancellationToken)
    {
        Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult problem;
        switch (exception)
        {
            case EngineStoppedException stopped:
                problem = ApiProblem.For(StatusCodes.Status503ServiceUnavailable, "ENGINE_STOPPED",
                    stopped.InnerException is null
                        ? "The exchange is shutting down; nothing was done. Retry once it is back."
                        : "The trading engine stopped after a failure before answering. Once the exchange is restarted, " +
                          "retry with the same Idempotency-Key to learn whether a write went through.");
                http.Response.Headers.RetryAfter = "5";
                break;
            case IdempotencyKeyReusedException reused:
                problem = ApiProblem.For(StatusCodes.Status422UnprocessableEntity, "IDEMPOTENCY_KEY_REUSED", reused.Message);
                break;
            default:
                return false;
        }
        http.Response.StatusCode = problem.StatusCode;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = http, ProblemDetails = problem.ProblemDetails, Exception = exception });
    }
}
