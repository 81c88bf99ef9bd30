using System.Net.WebSockets;
using System.Text;

namespace Exchange.Feed.Exchanges;

internal enum ReceiveOutcome
{
    Text,

    /// <summary>Binary or bigger than the limit: a frame, but not one we can read.</summary>
    Unreadable,
    Closed,
    Stale,
    Failed,
}

/// <summary>
/// One WebSocket connection to an exchange: connect, subscribe, and receive whole messages into a
/// reused buffer, with the silence clock restarted on every message. Every network failure comes
/// back as an outcome, never an exception, so the adapter's loop can only end by cancellation.
/// </summary>
internal sealed class BookTickerSocket : IDisposable
{
    private readonly ClientWebSocket _socket;
    private readonly CancellationTokenSource _silence;
    private readonly CancellationTokenRegistration _stopping;
    private readonly TimeSpan _staleAfter;
    private readonly int _maxFrameBytes;
    private byte[] _buffer = new byte[4 * 1024];

    private BookTickerSocket(ClientWebSocket socket, BookTickerOptions options, TimeProvider time, CancellationToken cancellationToken)
    {
        _socket = socket;
        _staleAfter = options.StaleAfter;
        _maxFrameBytes = options.MaxFrameBytes;
        // On the injected clock, so the stale limit follows the same time as everything else.
        _silence = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        _stopping = cancellationToken.Register(static s => ((CancellationTokenSource)s!).Cancel(), _silence);
    }

    /// <summary>The message received last; valid until the next <see cref="ReceiveAsync"/>.</summary>
    public ReadOnlyMemory<byte> Message { get; private set; }

    /// <summary>Why the connection ended, for the log.</summary>
    public string? Problem { get; private set; }

    /// <summary>Null when the connection or the subscription failed; <paramref name="problem"/> says why.</summary>
    public static async Task<(BookTickerSocket? Socket, string? Problem)> OpenAsync(Uri endpoint, string? subscribe,
        BookTickerOptions options, TimeProvider time, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        try
        {
            using (var timeout = new CancellationTokenSource(options.ConnectTimeout, time))
            using (cancellationToken.Register(static s => ((CancellationTokenSource)s!).Cancel(), timeout))
            {
                await socket.ConnectAsync(endpoint, timeout.Token).ConfigureAwait(false);
                if (subscribe is not null)
                    await socket.SendAsync(Encoding.UTF8.GetBytes(subscribe), WebSocketMessageType.Text, true, timeout.Token)
                        .ConfigureAwait(false);
            }
            var opened = new BookTickerSocket(socket, options, time, cancellationToken);
            socket = null;
            return (opened, null);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, e is OperationCanceledException ? $"no connection within {options.ConnectTimeout}" : e.Message);
        }
        finally
        {
            socket?.Dispose();
        }
    }

    public async ValueTask<ReceiveOutcome> ReceiveAsync(CancellationToken cancellationToken)
    {
        _silence.CancelAfter(_staleAfter);
        var length = 0;
        var oversized = false;
        while (true)
        {
            if (length == _buffer.Length)
            {
                if (_buffer.Length >= _maxFrameBytes)
                {
                    oversized = true; // read on to the end of the message, keeping none of it
                    length = 0;
                }
                else
                {
                    Array.Resize(ref _buffer, Math.Min(_buffer.Length * 2, _maxFrameBytes));
                }
            }

            ValueWebSocketReceiveResult result;
            try
            {
                result = await _socket.ReceiveAsync(_buffer.AsMemory(length), _silence.Token).ConfigureAwait(false);
            }
            catch (Exception) when (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException(cancellationToken);
            }
            catch (Exception) when (_silence.IsCancellationRequested)
            {
                Problem = $"no frame for {_staleAfter}";
                return ReceiveOutcome.Stale;
            }
            catch (Exception e)
            {
                Problem = e.Message;
                return ReceiveOutcome.Failed;
            }

            if (result.MessageType == WebSocketMessageType.Close)
            {
                Problem = $"closed by the exchange ({_socket.CloseStatus} {_socket.CloseStatusDescription})";
                await AcknowledgeCloseAsync().ConfigureAwait(false);
                return ReceiveOutcome.Closed;
            }
            length += result.Count;
            if (!result.EndOfMessage)
                continue;
            Message = _buffer.AsMemory(0, length);
            return oversized || result.MessageType != WebSocketMessageType.Text ? ReceiveOutcome.Unreadable : ReceiveOutcome.Text;
        }
    }

    // Completes the close handshake so the exchange sees a clean goodbye; a second at most.
    private async Task AcknowledgeCloseAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The connection is being replaced either way.
        }
    }

    public void Dispose()
    {
        _stopping.Dispose();
        _socket.Dispose();
        _silence.Dispose();
    }
}
