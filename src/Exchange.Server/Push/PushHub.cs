using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text.Json;
using Exchange.Engine;
using Exchange.Server.Api;

namespace Exchange.Server.Push;

/// <summary>
/// Fans prices out to every socket and each trader's own events to that trader's sockets only.
/// Each message is serialized once, whoever receives it; nothing here ever waits for a client.
/// </summary>
public sealed class PushHub
{
    internal static readonly byte[] Ping = JsonSerializer.SerializeToUtf8Bytes(new PingMessage(), PushJsonContext.Default.PingMessage);

    private readonly EngineConfig _config;
    private readonly OrderEntry _orders;
    private readonly byte[]?[] _latestPrices;
    private int _pendingAssets;
    private readonly ConcurrentDictionary<PushConnection, byte> _all = new();
    private readonly ConcurrentDictionary<Guid, ConcurrentDictionary<PushConnection, byte>> _byUser = new();
    private readonly Lock _subscriptions = new();
    private int _places; // streams open or opening: taken before the handshake, so simultaneous ones cannot all pass a cap
    private readonly Dictionary<Guid, int> _placesOf = [];

    public PushHub(EngineConfig config, PriceBoard board, OrderEntry orders)
    {
        _config = config;
        _orders = orders;
        _latestPrices = new byte[config.Assets.Count][];
        foreach (var price in board.All()) Publish(price);
        board.Changed += Publish;
    }

    /// <summary>How often a quiet connection is pinged, and how long a send may wait for a client that stopped reading (one to two of these).</summary>
    internal TimeSpan PingEvery { get; init; } = TimeSpan.FromSeconds(15);

    public int AssetCount => _latestPrices.Length;
    public int Connections => _all.Count;

    internal IEnumerable<PushConnection> OpenConnections => _all.Keys;

    internal byte[]? LatestPrice(int asset) => Volatile.Read(ref _latestPrices[asset]);

    private void Publish(PriceView price)
    {
        if (!_config.TryFindAsset(price.Asset, out var asset)) return;
        var bytes = JsonSerializer.SerializeToUtf8Bytes(new PriceMessage(price.Asset, price.Bid, price.Ask, price.Timestamp), PushJsonContext.Default.PriceMessage);
        Volatile.Write(ref _latestPrices[asset.Index], bytes);
        // The feed sends every asset's tick at the same moment: the first queues one pass over the
        // connections and the others join it if it has not started, so a connection wakes (and
        // writes to its socket) once per burst rather than once per asset; the feed's thread never
        // walks the connections.
        if (Interlocked.Or(ref _pendingAssets, 1 << asset.Index) == 0)
            ThreadPool.UnsafeQueueUserWorkItem(static hub => hub.WakeConnections(), this, preferLocal: false);
    }

    private void WakeConnections()
    {
        var assets = Interlocked.Exchange(ref _pendingAssets, 0);
        // Enumerating the dictionary itself takes no lock and copies nothing (.Keys would do both).
        foreach (var (connection, _) in _all) connection.PricesChanged(assets);
    }

    /// <summary>Engine events, once durable: each goes to its trader's sockets.</summary>
    internal void Publish(IReadOnlyList<object> events)
    {
        if (_byUser.IsEmpty) return;
        foreach (var e in events)
        {
            switch (e)
            {
                case TradeOpened opened when Sockets(opened.Trade.Owner) is { } sockets:
                    var trade = EngineReplies.Trade(opened.Trade, _config);
                    Send(sockets, JsonSerializer.SerializeToUtf8Bytes(new TradeOpenedMessage(trade.TradeId, trade), PushJsonContext.Default.TradeOpenedMessage));
                    break;
                case TradeClosed closed when Sockets(closed.Trade.Owner) is { } sockets:
                    Send(sockets, JsonSerializer.SerializeToUtf8Bytes(new TradeClosedMessage(
                        closed.Trade.Id.ToString(), _config.Assets[closed.Trade.Asset.Index].Symbol, closed.Trade.Direction.Name(),
                        closed.Reason.Name(), closed.ClosePrice.ToDecimal(), closed.Trade.Margin.ToDecimal(), closed.Pnl.ToDecimal(), closed.Payout.ToDecimal(),
                        closed.Header.TimestampMs), PushJsonContext.Default.TradeClosedMessage));
                    break;
                case BalanceChanged balance when Sockets(balance.User) is { } sockets:
                    foreach (var (connection, _) in sockets) connection.BalanceChanged();
                    break;
            }
        }
    }

    internal async Task<byte[]> BalanceMessageAsync(Guid user)
    {
        var reply = await _orders.QueryAsync(user, InputKind.GetBalance);
        var b = EngineReplies.Balance(in reply);
        return JsonSerializer.SerializeToUtf8Bytes(new BalanceMessage(b.Balances, b.LockedMargin, b.Equity), PushJsonContext.Default.BalanceMessage);
    }

    private ConcurrentDictionary<PushConnection, byte>? Sockets(UserId user) => _byUser.GetValueOrDefault(user.Value);

    private static void Send(ConcurrentDictionary<PushConnection, byte> sockets, byte[] message)
    {
        foreach (var (connection, _) in sockets) connection.Enqueue(message);
    }

    /// <summary>Serves one socket until it closes.</summary>
    public async Task ServeAsync(WebSocket socket, Guid? user, CancellationToken stopping, Func<bool>? signedIn = null)
    {
        using var connection = new PushConnection(socket, user, this, signedIn);
        _all.TryAdd(connection, 0);
        if (user is { } id) Subscribe(id, connection);
        try
        {
            await connection.RunAsync(stopping);
        }
        finally
        {
            _all.TryRemove(connection, out _);
            if (user is { } owner) Unsubscribe(owner, connection);
        }
    }

    /// <summary>
    /// Adds a connection to its trader's set. One lock with <see cref="Unsubscribe"/> (sockets open
    /// and close rarely): without it a reloading tab's new socket could join the set just as its
    /// old one, the last in it, removed the emptied set, and would then get none of the trader's events.
    /// </summary>
    internal void Subscribe(Guid user, PushConnection connection)
    {
        lock (_subscriptions) _byUser.GetOrAdd(user, _ => new()).TryAdd(connection, 0);
    }

    internal void Unsubscribe(Guid user, PushConnection connection)
    {
        lock (_subscriptions)
        {
            if (!_byUser.TryGetValue(user, out var mine)) return;
            mine.TryRemove(connection, out _);
            if (mine.IsEmpty) _byUser.TryRemove(user, out _);
        }
    }

    /// <summary>
    /// Takes a place for a stream about to open, unless <paramref name="capForAll"/> streams are open
    /// or opening, or <paramref name="capPerTrader"/> of this trader's. A place taken is given back
    /// with <see cref="ReleasePlace"/>.
    /// </summary>
    internal StreamPlace TakePlace(Guid? user, int capForAll, int capPerTrader)
    {
        lock (_subscriptions)
        {
            if (_places >= capForAll) return StreamPlace.ExchangeFull;
            var mine = user is { } id ? _placesOf.GetValueOrDefault(id) : 0;
            if (user is not null && mine >= capPerTrader) return StreamPlace.TraderFull;
            _places++;
            if (user is { } owner) _placesOf[owner] = mine + 1;
            return StreamPlace.Taken;
        }
    }

    internal void ReleasePlace(Guid? user)
    {
        lock (_subscriptions)
        {
            _places--;
            if (user is not { } id) return;
            if (_placesOf[id] == 1) _placesOf.Remove(id);
            else _placesOf[id]--;
        }
    }

    /// <summary>Whether the trader's events reach this connection.</summary>
    internal bool Reaches(Guid user, PushConnection connection) => _byUser.TryGetValue(user, out var mine) && mine.ContainsKey(connection);
}

internal enum StreamPlace
{
    Taken,
    ExchangeFull,
    TraderFull,
}
