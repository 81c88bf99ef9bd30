using System.Net.WebSockets;
using System.Threading.Channels;

namespace Exchange.Server.Push;

/// <summary>
/// One browser's socket. Prices are conflated (only the latest per asset is ever waiting),
/// so a slow client costs nothing but its own staleness; a trader's own events queue up to a
/// bound, and a client that falls that far behind is disconnected rather than silently
/// missing a fill (it reconnects and reloads).
/// </summary>
internal sealed class PushConnection(WebSocket socket, Guid? user, PushHub hub) : IDisposable
{
    public const int MaxQueuedEvents = 1024;
    private static readonly TimeSpan PingEvery = TimeSpan.FromSeconds(15);

    private readonly Channel<byte[]> _events = Channel.CreateBounded<byte[]>(MaxQueuedEvents);
    private readonly SemaphoreSlim _wake = new(0);
    private int _dirtyPrices;
    private int _balanceDirty;
    private readonly CancellationTokenSource _closed = new();

    public Guid? User { get; } = user;
    public long SentMessages;

    public void PricesChanged(int assetIndex)
    {
        if ((Interlocked.Or(ref _dirtyPrices, 1 << assetIndex) & (1 << assetIndex)) == 0) Wake();
    }

    public void Enqueue(byte[] message)
    {
        if (!_events.Writer.TryWrite(message)) Abort();
        else Wake();
    }

    public void BalanceChanged()
    {
        if (Interlocked.Exchange(ref _balanceDirty, 1) == 0) Wake();
    }

    // Publishers may still hold this connection for a moment after it closed: waking or
    // aborting a finished connection is a no-op, never an exception on the publisher's thread.
    private void Wake()
    {
        try
        {
            if (_wake.CurrentCount == 0) _wake.Release();
        }
        catch (ObjectDisposedException) { }
    }

    public void Abort()
    {
        try
        {
            _closed.Cancel();
        }
        catch (ObjectDisposedException) { }
    }

    public void Dispose()
    {
        _closed.Dispose();
        _wake.Dispose();
    }

    public async Task RunAsync(CancellationToken stopping)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stopping, _closed.Token);
        var token = linked.Token;
        var reader = ReadUntilClosedAsync(token);
        try
        {
            for (var i = 0; i < hub.AssetCount; i++) _dirtyPrices |= 1 << i;
            while (!token.IsCancellationRequested && socket.State == WebSocketState.Open)
            {
                while (_events.Reader.TryRead(out var message)) await SendAsync(message, token);
                var dirty = Interlocked.Exchange(ref _dirtyPrices, 0);
                for (var i = 0; dirty != 0; i++, dirty >>= 1)
                    if ((dirty & 1) != 0 && hub.LatestPrice(i) is { } price) await SendAsync(price, token);
                if (User is { } user && Interlocked.Exchange(ref _balanceDirty, 0) == 1)
                    await SendAsync(await hub.BalanceMessageAsync(user), token);
                if (!await _wake.WaitAsync(PingEvery, token)) await SendAsync(PushHub.Ping, token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException) { }
        finally
        {
            await _closed.CancelAsync();
            if (socket.State == WebSocketState.Open)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                try { await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", timeout.Token); }
                catch (Exception e) when (e is OperationCanceledException or WebSocketException) { }
            }
            try { await reader; } catch (Exception e) when (e is OperationCanceledException or WebSocketException) { }
        }
    }

    private async Task SendAsync(byte[] message, CancellationToken token)
    {
        await socket.SendAsync(message, WebSocketMessageType.Text, endOfMessage: true, token);
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
                var result = await socket.ReceiveAsync(buffer, token);
                if (result.MessageType == WebSocketMessageType.Close) break;
            }
        }
        finally
        {
            await _closed.CancelAsync();
        }
    }
}
