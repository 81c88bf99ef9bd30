using System.Net.WebSockets;
using System.Threading.Channels;

namespace Exchange.Server.Push;

/// <summary>
/// One browser's socket. Prices are conflated (only the latest per asset is ever waiting),
/// so a slow client costs nothing but its own staleness; a trader's own events queue up to a
/// bound, and a client that falls that far behind is disconnected rather than silently
/// missing a fill (it reconnects and reloads).
/// </summary>
/// <remarks>
/// Every tick wakes every connection, so the hot path is kept free of per-message allocations,
/// timers and cancellation registrations: the loop waits on a <see cref="WakeSignal"/>, sends
/// with <see cref="CancellationToken.None"/> (WebSocket's allocation-free path; a cancelable
/// token forces its slow path), and idle pings come from one timer per connection every 15 s.
/// Closing or aborting still ends a send stuck behind a client that stopped reading: the socket
/// is aborted (as a cancelled WebSocket send would do). That timer also ends a connection whose
/// send has waited a whole ping interval.
/// </remarks>
/// <param name="signedIn">For a trader's socket: whether its token still holds (not signed out of, not expired), asked at each wake-up.</param>
internal sealed class PushConnection(WebSocket socket, Guid? user, PushHub hub, Func<bool>? signedIn = null) : IDisposable
{
    public const int MaxQueuedEvents = 1024;
    private static readonly TimeSpan CloseWait = TimeSpan.FromSeconds(2);

    private readonly Channel<byte[]> _events = Channel.CreateBounded<byte[]>(MaxQueuedEvents);
    private readonly WakeSignal _wake = new();
    private int _dirtyPrices;
    private int _balanceDirty;
    private int _pingDue;
    private int _sending;
    private long _sendStartedAtMs;
    private int _closeReceived;
    private long _sentAtLastPing;
    private readonly CancellationTokenSource _closed = new();

    public Guid? User { get; } = user;
    public long SentMessages;

    /// <param name="assets">A bit per asset index.</param>
    public void PricesChanged(int assets)
    {
        // A bit already set means a wake is already on its way.
        if ((Interlocked.Or(ref _dirtyPrices, assets) & assets) != assets) _wake.Set();
    }

    public void Enqueue(byte[] message)
    {
        if (_events.Writer.TryWrite(message)) _wake.Set();
        // Too far behind: dropped (it reads again when it reconnects). Not on the publisher's
        // thread, the engine's: cancelling runs the socket's teardown right there.
        else ThreadPool.UnsafeQueueUserWorkItem(static connection => connection.Abort(), this, preferLocal: false);
    }

    public void BalanceChanged()
    {
        if (Interlocked.Exchange(ref _balanceDirty, 1) == 0) _wake.Set();
    }

    private void PingDue()
    {
        // A send under way for a whole ping interval is waiting for a client that stopped reading:
        // the connection ends, and its place goes to one that reads. (Elapsed time, not ticks
        // counted: a thread-pool stall can run two ticks back to back.)
        if (Volatile.Read(ref _sending) != 0 && Environment.TickCount64 - Volatile.Read(ref _sendStartedAtMs) >= (long)hub.PingEvery.TotalMilliseconds)
        {
            Abort();
            socket.Abort(); // also when already closing (OnClosed lets a send after the client's close run)
            return;
        }
        Volatile.Write(ref _pingDue, 1);
        _wake.Set();
    }

    // Publishers may still hold this connection for a moment after it closed: waking or
    // aborting a finished connection is a no-op, never an exception on the publisher's thread.
    public void Abort()
    {
        try
        {
            _closed.Cancel();
        }
        catch (ObjectDisposedException) { }
    }

    public void Dispose() => _closed.Dispose();

    public async Task RunAsync(CancellationToken stopping)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stopping, _closed.Token);
        var token = linked.Token;
        await using var onClose = token.UnsafeRegister(static state => ((PushConnection)state!).OnClosed(), this);
        await using var pings = new Timer(static state => ((PushConnection)state!).PingDue(), this, hub.PingEvery, hub.PingEvery);
        // Not cancelled by closing: a WebSocket may abort when a pending receive is cancelled, and
        // our close frame goes out first (finally below); the client's answer then ends the read.
        using var stopReading = new CancellationTokenSource();
        var reader = ReadUntilClosedAsync(stopReading.Token);
        try
        {
            for (var i = 0; i < hub.AssetCount; i++) _dirtyPrices |= 1 << i;
            while (!token.IsCancellationRequested && socket.State == WebSocketState.Open)
            {
                if (signedIn?.Invoke() == false) break; // a trader's stream must not outlive the sign-in it opened with
                while (_events.Reader.TryRead(out var message)) await SendAsync(message, token);
                var dirty = Interlocked.Exchange(ref _dirtyPrices, 0);
                for (var i = 0; dirty != 0; i++, dirty >>= 1)
                    if ((dirty & 1) != 0 && hub.LatestPrice(i) is { } price) await SendAsync(price, token);
                if (User is { } user && Interlocked.Exchange(ref _balanceDirty, 0) == 1)
                    await SendAsync(await hub.BalanceMessageAsync(user), token);
                // A ping only after a quiet spell: anything sent since the last due ping will do.
                if (Interlocked.Exchange(ref _pingDue, 0) == 1)
                {
                    if (SentMessages == _sentAtLastPing) await SendAsync(PushHub.Ping, token);
                    _sentAtLastPing = SentMessages;
                }
                await _wake.WaitAsync();
            }
        }
        catch (Exception e) when (ClientGone(e)) { }
        finally
        {
            await _closed.CancelAsync();
            // Ours, or the answer to the client's (RFC 6455 §5.5.1): without it the client's close waits it out.
            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                using var timeout = new CancellationTokenSource(CloseWait);
                try { await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", timeout.Token); }
                catch (Exception e) when (ClientGone(e)) { }
            }
            // The reader ends with the client's answer to our close; a client that gives none is cut off.
            try { await reader.WaitAsync(CloseWait, CancellationToken.None); }
            catch (TimeoutException) { await stopReading.CancelAsync(); }
            catch (Exception e) when (ClientGone(e)) { }
            try { await reader; } catch (Exception e) when (ClientGone(e)) { }
        }
    }

    /// <summary>A client that goes away mid-send shows up as any of these (Kestrel's reset connection is an IOException).</summary>
    private static bool ClientGone(Exception e) => e is OperationCanceledException or WebSocketException or ObjectDisposedException or IOException;

    /// <summary>
    /// Closing wakes the loop, and ends a send that is stuck behind a client that stopped reading;
    /// after the client's own close the send is let finish, so that our close can answer it.
    /// </summary>
    private void OnClosed()
    {
        if (Volatile.Read(ref _sending) != 0 && Volatile.Read(ref _closeReceived) == 0) socket.Abort();
        _wake.Set();
    }

    private async ValueTask SendAsync(byte[] message, CancellationToken token)
    {
        // Flag first, then look at the token; OnClosed sets the token first, then looks at the flag:
        // whichever runs second sees the other, so a send never outlives a close unnoticed.
        // Timed before it is flagged (the exchange is a full fence): a ping that sees the flag sees this send's start.
        Volatile.Write(ref _sendStartedAtMs, Environment.TickCount64);
        Interlocked.Exchange(ref _sending, 1);
        try
        {
            token.ThrowIfCancellationRequested();
            await socket.SendAsync(message.AsMemory(), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
        }
        finally
        {
            Volatile.Write(ref _sending, 0);
        }
        SentMessages++;
    }

    /// <summary>Clients only answer pings; reading is how we notice they left.</summary>
    private async Task ReadUntilClosedAsync(CancellationToken token)
    {
        var buffer = new byte[1024];
        try
        {
            while (!token.IsCancellationRequested)
            {
                var result = await socket.ReceiveAsync(buffer.AsMemory(), token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    Volatile.Write(ref _closeReceived, 1);
                    break;
                }
            }
        }
        finally
        {
            await _closed.CancelAsync();
        }
    }
}
