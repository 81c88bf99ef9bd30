using Microsoft.Extensions.Logging;

namespace Exchange.Data;

/// <summary>
/// Database work that must not be skipped (its rows would be missing for good): retried as it
/// is, the pause doubling from 100 ms up to a limit, with the failures in a row counted for
/// /readyz and metrics.
/// </summary>
internal sealed class DatabaseRetry(TimeSpan maxDelay, TimeProvider time, ILogger logger)
{
    private int _consecutiveFailures;

    /// <summary>Failures in a row; 0 once the last attempt succeeded.</summary>
    public int ConsecutiveFailures => Volatile.Read(ref _consecutiveFailures);

    public void Succeeded() => Volatile.Write(ref _consecutiveFailures, 0);

    /// <summary>Counts a failure; returns how many there now are in a row.</summary>
    public int Failed() => Interlocked.Increment(ref _consecutiveFailures);

    /// <summary>Runs <paramref name="work"/> until it succeeds or <paramref name="stoppingToken"/> fires.</summary>
    public async Task RunAsync(string what, Func<CancellationToken, Task> work, CancellationToken stoppingToken)
    {
        while (true)
        {
            try
            {
                await work(stoppingToken).ConfigureAwait(false);
                Succeeded();
                return;
            }
            catch (ObjectDisposedException e) when (e.ObjectName == nameof(IServiceProvider) && !stoppingToken.IsCancellationRequested)
            {
                // The host disposed its services while this still runs (it failed to start, say):
                // there is nothing to retry against, and it is about to stop this too.
                logger.LogDebug("{What} stopped: the host's services are gone", what);
                await Task.Delay(Timeout.InfiniteTimeSpan, time, stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                var failures = Failed();
                var delay = TimeSpan.FromMilliseconds(Math.Min(maxDelay.TotalMilliseconds, 50 * Math.Pow(2, Math.Min(failures, 16))));
                logger.LogError(e, "{What} failed ({Failures} in a row); retrying in {Delay} ms",
                    what, failures, (long)delay.TotalMilliseconds);
                await Task.Delay(delay, time, stoppingToken).ConfigureAwait(false);
            }
        }
    }
}
