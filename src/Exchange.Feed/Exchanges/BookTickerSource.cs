using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Exchange.Feed.Exchanges;

/// <summary>
/// An exchange's public book-ticker WebSocket as a price source. It connects, subscribes to the
/// selected assets and yields one <see cref="Quote"/> per valid frame; a frame it cannot read is
/// skipped and counted, a crossed or zero book is rejected and counted, and a connection that
/// closes, fails or goes silent for <see cref="BookTickerOptions.StaleAfter"/> is replaced after a
/// jittered exponential back-off. It never throws except to end on cancellation. One reader at a time.
/// </summary>
public abstract class BookTickerSource : IPriceSource
{
    private readonly BookTickerOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ReconnectBackoff _backoff;
    private long _frames, _quotes, _malformed, _rejected, _reconnects, _connections, _staleTimeouts;

    private protected BookTickerSource(BookTickerOptions options, Uri defaultUrl, TimeProvider? time, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Assets.Count == 0)
            throw new ArgumentException("no asset to subscribe to", nameof(options));
        if (options.StaleAfter <= TimeSpan.Zero || options.ConnectTimeout <= TimeSpan.Zero || options.MaxFrameBytes < 1_024)
            throw new ArgumentOutOfRangeException(nameof(options), "stale limit and connect timeout must be positive, the frame limit at least 1 KiB");
        _options = options;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        var seed = options.JitterSeed is { } s ? unchecked((ulong)s) : BinaryPrimitives.ReadUInt64LittleEndian(RandomNumberGenerator.GetBytes(8));
        _backoff = new ReconnectBackoff(options.ReconnectBaseDelay, options.ReconnectMaxDelay, seed);
        BaseUrl = options.Url ?? defaultUrl;
    }

    /// <summary>For logs: <c>binance</c>, <c>backpack</c>.</summary>
    public abstract string Exchange { get; }

    /// <summary>The endpoint before the adapter adds its stream path or query.</summary>
    public Uri BaseUrl { get; }

    /// <summary>Where the adapter connects, streams included.</summary>
    public abstract Uri Endpoint { get; }

    public BookTickerStats Stats => new(
        Interlocked.Read(ref _frames), Interlocked.Read(ref _quotes), Interlocked.Read(ref _malformed),
        Interlocked.Read(ref _rejected), Interlocked.Read(ref _reconnects), Interlocked.Read(ref _connections),
        Interlocked.Read(ref _staleTimeouts));

    /// <summary>Sent once after each connect; null when the endpoint itself selects the streams.</summary>
    private protected virtual string? SubscribeMessage => null;

    /// <summary>
    /// Turns a parsed frame into our quote: known stream, symbol matching the stream, timestamp.
    /// False (with the reason) when the frame is for a stream we did not ask for.
    /// </summary>
    private protected abstract bool TryTranslate(in BookTickerFrame frame, long receivedMs, out Quote quote, out string? problem);

    public async IAsyncEnumerable<Quote> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Consecutive connections that did not prove themselves: a quote and then a drop is not a
        // working connection, or a server that hangs up after every first frame would be redialled
        // every half second, and exchanges ban an address for that. Only a connection that quoted
        // and lasted as long as the silence that drops one (StaleAfter) starts the back-off over.
        var failures = 0;
        for (var attempt = 0; ; attempt++)
        {
            if (attempt > 0)
            {
                var delay = _backoff.Delay(failures++);
                _logger.LogInformation("{Exchange}: reconnecting in {Delay}", Exchange, delay);
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
                Interlocked.Increment(ref _reconnects);
            }

            var (socket, problem) = await BookTickerSocket.OpenAsync(Endpoint, SubscribeMessage, _options, _time, cancellationToken)
                .ConfigureAwait(false);
            if (socket is null)
            {
                _logger.LogWarning("{Exchange}: cannot connect to {Endpoint}: {Problem}", Exchange, Endpoint, problem);
                continue;
            }
            using (socket)
            {
                Interlocked.Increment(ref _connections);
                _logger.LogInformation("{Exchange}: connected to {Endpoint}", Exchange, Endpoint);
                var connectedAt = _time.GetTimestamp();
                var quoted = false;
                while (true)
                {
                    var outcome = await socket.ReceiveAsync(cancellationToken).ConfigureAwait(false);
                    if (outcome is ReceiveOutcome.Closed or ReceiveOutcome.Stale or ReceiveOutcome.Failed)
                    {
                        if (outcome == ReceiveOutcome.Stale)
                            Interlocked.Increment(ref _staleTimeouts);
                        _logger.LogWarning("{Exchange}: connection lost: {Problem}", Exchange, socket.Problem);
                        if (quoted && _time.GetElapsedTime(connectedAt) >= _options.StaleAfter)
                            failures = 0;
                        break;
                    }
                    Interlocked.Increment(ref _frames);
                    if (outcome == ReceiveOutcome.Text && TryQuote(socket.Message.Span, out var quote))
                    {
                        quoted = true;
                        yield return quote;
                    }
                    else if (outcome == ReceiveOutcome.Unreadable)
                    {
                        Malformed("binary or oversized message");
                    }
                }
            }
        }
    }

    private bool TryQuote(ReadOnlySpan<byte> message, out Quote quote)
    {
        quote = default;
        switch (BookTickerFrame.Read(message, out var frame, out var problem))
        {
            case FrameKind.Control:
                if (problem is not null)
                    _logger.LogWarning("{Exchange}: {Problem}", Exchange, problem);
                return false;
            case FrameKind.Malformed:
                Malformed(problem);
                return false;
        }
        if (!TryTranslate(frame, _time.GetUtcNow().ToUnixTimeMilliseconds(), out quote, out problem))
        {
            Malformed(problem);
            return false;
        }
        // Never pass on a book the engine must not act on (stops, liquidations at a crossed or zero price).
        if (!quote.Bid.IsSet || quote.Bid >= quote.Ask)
        {
            var rejected = Interlocked.Increment(ref _rejected);
            if (rejected % 1_000 == 1)
                _logger.LogWarning("{Exchange}: rejected {Symbol} bid {Bid} ask {Ask} ({Count} so far)",
                    Exchange, quote.Symbol, quote.Bid, quote.Ask, rejected);
            return false;
        }
        Interlocked.Increment(ref _quotes);
        return true;
    }

    // Logged on the first and every 1,000th: a broken stream must not flood the log.
    private void Malformed(string? problem)
    {
        var count = Interlocked.Increment(ref _malformed);
        if (count % 1_000 == 1)
            _logger.LogWarning("{Exchange}: skipped a malformed frame: {Problem} ({Count} so far)", Exchange, problem, count);
    }
}
