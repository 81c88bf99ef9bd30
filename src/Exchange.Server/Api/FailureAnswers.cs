using Exchange.Journal;
using Microsoft.AspNetCore.Diagnostics;

namespace Exchange.Server.Api;

/// <summary>
/// Failures the order path reports by exception, answered as problems with stable codes rather
/// than a bare 500.
/// <list type="bullet">
/// <item>The engine is shutting down, or its thread has failed: 503 ENGINE_STOPPED. Shutting down
/// refuses before anything is queued; a failure may catch a command already durable whose answer
/// was not sent yet, so that answer says the outcome is unknown and how to learn it: the key
/// travels in the journal with the command, so a retry under it after the restart is answered
/// with the first outcome if the command was done, and runs it if not.</item>
/// <item>An Idempotency-Key reused for a different request: 422 IDEMPOTENCY_KEY_REUSED.</item>
/// <item>A key or an order that cannot be looked up yet (orders still on their way to the database): 503 ORDER_HISTORY_BEHIND.</item>
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
                        : "The trading engine stopped after a failure before answering: the command may or may not have " +
                          "been done. Once the exchange is back, send it again with the same Idempotency-Key (it is never " +
                          "done twice), or look at your trades and balance before sending it without one.");
                http.Response.Headers.RetryAfter = "5";
                break;
            case OrderHistoryBehindException behind:
                problem = ApiProblem.For(StatusCodes.Status503ServiceUnavailable, "ORDER_HISTORY_BEHIND", behind.Message);
                http.Response.Headers.RetryAfter = "1";
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
