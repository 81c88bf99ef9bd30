using Exchange.Engine;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Exchange.Feed;

/// <summary>
/// Runs a price source and hands its ticks to the engine (<c>EngineHost.SubmitTick</c>):
/// only the selected assets, never a crossed or zero price, at most one tick per asset per
/// <see cref="FeedOptions.UpdateIntervalMs"/> (always the latest), and the last price again
/// when an interval passes without one so the engine's prices do not go stale in a quiet market.
/// </summary>
public sealed class PriceFeed
{
    /// <summary>A source that throws is read again after this; reconnect policy proper is the source's.</summary>
    public static readonly TimeSpan RestartDelay = TimeSpan.FromSeconds(1);

    private readonly IPriceSource _source;
    private readonly TickConflator _conflator;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly TimeSpan _flushPeriod;
    private readonly long _start;
    private readonly Lock _gate = new();
    private long _sourceFailures;

    /// <param name="submit">Called on the feed's threads, one call at a time; must not block.</param>
    /// <param name="assets">The engine's assets (<c>EngineConfig.Assets</c>); ticks carry their index.</param>
    /// <exception cref="FeedConfigurationException">A selected asset is not one of <paramref name="assets"/>.</exception>
    public PriceFeed(IPriceSource source, Action<AssetId, Price, Price> submit, FeedOptions options,
        IReadOnlyList<AssetSpec>? assets = null, TimeProvider? time = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(submit);
        ArgumentNullException.ThrowIfNull(options);
        if (options.UpdateIntervalMs < 1)
            throw new FeedConfigurationException("POLLER_UPDATE_INTERVAL", $"must be positive, got {options.UpdateIntervalMs}");
        _source = source;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _conflator = new TickConflator(options.ResolveAssets(assets ?? EngineConfig.DefaultAssets),
            options.UpdateIntervalMs, options.StaleAfterMs, submit, _logger);
        // Several flushes per interval so a held quote waits at most a tenth of an interval past its turn.
        _flushPeriod = TimeSpan.FromMilliseconds(Math.Max(options.UpdateIntervalMs / 10, 5));
        _start = _time.GetTimestamp();
    }

    public FeedStats Stats
    {
        get
        {
            lock (_gate)
                return _conflator.Stats(_sourceFailures);
        }
    }

    /// <summary>Reads the source and sends ticks until <paramref name="cancellationToken"/> is cancelled, then returns.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.WhenAll(ReadAsync(cancellationToken), FlushAsync(cancellationToken)).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task ReadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                await foreach (var quote in _source.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    lock (_gate)
                        _conflator.Offer(quote, NowMs());
                }
                // A finished source (a replay at its end) leaves its last prices being re-sent.
                _logger.LogInformation("Price source ended; holding the last prices");
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                lock (_gate)
                    _sourceFailures++;
                _logger.LogError(e, "Price source failed; reading it again in {Delay}", RestartDelay);
                await Task.Delay(RestartDelay, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_flushPeriod, _time);
        while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
        {
            lock (_gate)
                _conflator.Flush(NowMs());
        }
    }

    // Monotonic, so a wall-clock step cannot stall or burst the ticks.
    private long NowMs() => (long)_time.GetElapsedTime(_start).TotalMilliseconds;
}
