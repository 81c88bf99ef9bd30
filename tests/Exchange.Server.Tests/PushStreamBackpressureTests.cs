using System.Net.WebSockets;
using System.Text;
using Exchange.Engine;
using Exchange.Server.Api;
using Exchange.Server.Push;

namespace Exchange.Server.Tests;

/// <summary>
/// The push connection's loop against a socket whose sends can be held (a client that stopped
/// reading): prices conflate, an overflowing event queue ends the connection and the stuck send
/// with it, and the wake-up signal never loses a wake.
/// </summary>
public sealed class PushStreamBackpressureTests
{
    private static readonly EngineConfig Config = new();

    private static (PushHub Hub, PriceBoard Board) Hub(TimeSpan? pingEvery = null)
    {
        var board = new PriceBoard(Config);
        // OrderEntry is only asked for balances of signed-in sockets; these tests use none.
        return (new PushHub(Config, board, null!) { PingEvery = pingEvery ?? TimeSpan.FromSeconds(15) }, board);
    }

    private static void Tick(PriceBoard board, int asset, decimal bid) =>
        board.Update(new AssetId(asset), Price.FromDecimal(bid), Price.FromDecimal(bid + 1), 1_000);

    [Fact]
    public async Task A_client_that_stops_reading_gets_only_the_latest_price_per_asset_when_it_reads_again()
    {
        var (hub, board) = Hub();
        using var socket = new HeldSocket();
        var serving = hub.ServeAsync(socket, null, CancellationToken.None);

        Tick(board, 0, 100m);
        await socket.SentAsync(1); // the first send is now held: the client stopped reading
        for (var i = 1; i <= 50; i++)
        {
            Tick(board, 0, 100m + i);
            Tick(board, 2, 200m + i);
        }
        await Task.Delay(200);
        socket.Release();
        await socket.SentAsync(3);
        await Task.Delay(200);

        var prices = socket.Messages.Where(m => m.Contains("\"price\"", StringComparison.Ordinal)).ToList();
        Assert.Contains("\"bid\":100,", prices[0], StringComparison.Ordinal);
        // None of the 98 prices in between; a wake queued by the last ticks that runs late may send a latest one again.
        Assert.All(prices.Skip(1), m => Assert.True(m.Contains("\"bid\":150,", StringComparison.Ordinal) || m.Contains("\"bid\":250,", StringComparison.Ordinal), m));
        Assert.Contains(prices, m => m.Contains("\"bid\":150,", StringComparison.Ordinal));
        Assert.Contains(prices, m => m.Contains("\"bid\":250,", StringComparison.Ordinal));

        socket.CloseFromClient();
        await serving.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task An_overflowing_event_queue_ends_the_connection_and_its_stuck_send()
    {
        var (hub, board) = Hub();
        using var socket = new HeldSocket();
        var serving = hub.ServeAsync(socket, null, CancellationToken.None);
        Tick(board, 0, 100m);
        await socket.SentAsync(1);

        // A trader's own events are never dropped: one more than the queue holds closes the socket.
        var connection = Assert.Single(hub.OpenConnections);
        for (var i = 0; i <= PushConnection.MaxQueuedEvents; i++) connection.Enqueue(Encoding.UTF8.GetBytes($"{{\"type\":\"e{i}\"}}"));

        await serving.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(socket.Aborted);
        Assert.Equal(0, hub.Connections);
    }

    [Fact]
    public async Task A_send_stuck_from_one_ping_to_the_next_ends_the_connection()
    {
        var (hub, board) = Hub(pingEvery: TimeSpan.FromMilliseconds(200));
        using var socket = new HeldSocket();
        var serving = hub.ServeAsync(socket, null, CancellationToken.None);
        Tick(board, 0, 100m);
        await socket.SentAsync(1); // held: the client stopped reading

        await serving.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.True(socket.Aborted);
        Assert.Equal(0, hub.Connections);
    }

    [Fact]
    public async Task A_close_from_the_client_during_a_send_is_answered_once_the_send_is_done()
    {
        var (hub, board) = Hub();
        using var socket = new HeldSocket();
        var serving = hub.ServeAsync(socket, null, CancellationToken.None);
        Tick(board, 0, 100m);
        await socket.SentAsync(1); // in flight

        socket.CloseFromClient();
        await Task.Delay(100);
        Assert.False(socket.Aborted);
        socket.Release();
        await serving.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.False(socket.Aborted);
        Assert.Equal(WebSocketState.Closed, socket.State); // our close went out in answer
    }

    [Fact]
    public async Task A_send_stuck_after_the_clients_close_still_ends_the_connection()
    {
        var (hub, board) = Hub(pingEvery: TimeSpan.FromMilliseconds(200));
        using var socket = new HeldSocket();
        var serving = hub.ServeAsync(socket, null, CancellationToken.None);
        Tick(board, 0, 100m);
        await socket.SentAsync(1);

        socket.CloseFromClient(); // and never reads again
        await serving.WaitAsync(TimeSpan.FromSeconds(5));

        Assert.True(socket.Aborted);
        Assert.Equal(0, hub.Connections);
    }

    [Fact]
    public async Task A_quiet_client_that_reads_is_pinged_and_kept()
    {
        var (hub, board) = Hub(pingEvery: TimeSpan.FromMilliseconds(100));
        using var socket = new HeldSocket();
        socket.Release();
        var serving = hub.ServeAsync(socket, null, CancellationToken.None);

        await Task.Delay(1_000); // ten ping intervals without a price
        Tick(board, 0, 100m);
        await socket.SentAsync(socket.Messages.Count + 1);

        Assert.False(socket.Aborted);
        Assert.Contains(socket.Messages, m => m.Contains("\"ping\"", StringComparison.Ordinal));
        Assert.Equal(1, hub.Connections);
        socket.CloseFromClient();
        await serving.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void A_stream_place_is_taken_before_the_handshake_so_simultaneous_ones_cannot_pass_a_cap_together()
    {
        var (hub, _) = Hub();
        var trader = Guid.NewGuid();

        // Two handshakes under way, neither serving yet: a third of the same trader's is refused.
        Assert.Equal(StreamPlace.Taken, hub.TakePlace(trader, capForAll: 3, capPerTrader: 2));
        Assert.Equal(StreamPlace.Taken, hub.TakePlace(trader, capForAll: 3, capPerTrader: 2));
        Assert.Equal(StreamPlace.TraderFull, hub.TakePlace(trader, capForAll: 3, capPerTrader: 2));
        Assert.Equal(StreamPlace.Taken, hub.TakePlace(null, capForAll: 3, capPerTrader: 2));
        Assert.Equal(StreamPlace.ExchangeFull, hub.TakePlace(Guid.NewGuid(), capForAll: 3, capPerTrader: 2));

        hub.ReleasePlace(trader);
        Assert.Equal(StreamPlace.Taken, hub.TakePlace(trader, capForAll: 3, capPerTrader: 2));
    }

    [Fact]
    public async Task The_wake_signal_never_loses_a_wake()
    {
        var signal = new WakeSignal();
        const int writers = 4, perProducer = 20_000;
        var produced = 0L;
        var consumer = Task.Run(async () =>
        {
            var wakes = 0;
            while (Interlocked.Read(ref produced) < writers * perProducer)
            {
                await signal.WaitAsync();
                wakes++;
            }
            return wakes;
        });
        var producers = Enumerable.Range(0, writers).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < perProducer; i++)
            {
                Interlocked.Increment(ref produced);
                signal.Set();
            }
        })).ToArray();
        await Task.WhenAll(producers);
        // Every Set came after its increment, so the consumer sees the total without another Set.
        var wakes = await consumer.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.InRange(wakes, 0, writers * perProducer); // 0 if the consumer only started after the writers
    }

    /// <summary>A server-side socket whose sends complete only while released; Abort fails a held send, as a real socket's would.</summary>
    private sealed class HeldSocket : WebSocket
    {
        private readonly Lock _gate = new();
        private readonly List<string> _messages = [];
        private readonly TaskCompletionSource _closedByClient = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private bool _holding = true;
        private WebSocketState _state = WebSocketState.Open;

        public bool Aborted { get; private set; }

        public IReadOnlyList<string> Messages
        {
            get
            {
                lock (_gate) return [.. _messages];
            }
        }

        /// <summary>Lets every held and later send through.</summary>
        public void Release()
        {
            lock (_gate) _holding = false;
            _released.TrySetResult();
        }

        public void CloseFromClient() => _closedByClient.TrySetResult();

        public async Task SentAsync(int count)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            while (Messages.Count < count) await Task.Delay(10, timeout.Token);
        }

        public override async Task SendAsync(ArraySegment<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken)
        {
            Task held;
            lock (_gate)
            {
                if (_state != WebSocketState.Open) throw new WebSocketException(WebSocketError.InvalidState);
                _messages.Add(Encoding.UTF8.GetString(buffer));
                held = _holding ? _released.Task : Task.CompletedTask;
            }
            await held.WaitAsync(cancellationToken);
            if (Aborted) throw new WebSocketException(WebSocketError.ConnectionClosedPrematurely);
        }

        public override async Task<WebSocketReceiveResult> ReceiveAsync(ArraySegment<byte> buffer, CancellationToken cancellationToken)
        {
            // A real socket aborts when a receive is cancelled.
            using var abort = cancellationToken.Register(Abort);
            await _closedByClient.Task.WaitAsync(cancellationToken);
            lock (_gate)
                if (_state == WebSocketState.Open) _state = WebSocketState.CloseReceived;
            return new WebSocketReceiveResult(0, WebSocketMessageType.Close, true, WebSocketCloseStatus.NormalClosure, "bye");
        }

        public override void Abort()
        {
            lock (_gate) _state = WebSocketState.Aborted;
            Aborted = true;
            _released.TrySetException(new WebSocketException(WebSocketError.ConnectionClosedPrematurely));
            _closedByClient.TrySetException(new WebSocketException(WebSocketError.ConnectionClosedPrematurely)); // a pending receive fails too
        }

        public override Task CloseOutputAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken)
        {
            lock (_gate) _state = _state == WebSocketState.CloseReceived ? WebSocketState.Closed : WebSocketState.CloseSent;
            return Task.CompletedTask;
        }

        public override Task CloseAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken) =>
            CloseOutputAsync(closeStatus, statusDescription, cancellationToken);

        public override WebSocketCloseStatus? CloseStatus => null;
        public override string? CloseStatusDescription => null;
        public override WebSocketState State
        {
            get
            {
                lock (_gate) return _state;
            }
        }
        public override string? SubProtocol => null;
        public override void Dispose() { }
    }
}
