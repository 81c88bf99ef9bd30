using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Exchange.Server.Tests;

/// <summary>/api/v1/stream: prices to everyone, a trader's own events to that trader only.</summary>
public sealed class PushStreamTests : IAsyncLifetime
{
    private readonly ExchangeApp _app = new();

    public Task InitializeAsync() => _app.MarketAsync();

    public async Task DisposeAsync() => await _app.DisposeAsync();

    private async Task<StreamClient> ConnectAsync(Trader? trader, string? origin = null, string scheme = "ws")
    {
        var client = _app.Server.CreateWebSocketClient();
        client.ConfigureRequest = r =>
        {
            if (trader is not null) r.Headers.Cookie = $"authToken={trader.Token}";
            if (origin is not null) r.Headers.Origin = origin;
        };
        var url = new UriBuilder(new Uri(_app.Server.BaseAddress, "api/v1/stream")) { Scheme = scheme, Port = -1 }.Uri;
        return new StreamClient(await client.ConnectAsync(url, CancellationToken.None));
    }

    /// <summary>Reads the socket continuously (cancelling a WebSocket read would abort the socket) into a channel.</summary>
    private sealed class StreamClient : IDisposable
    {
        private readonly WebSocket _socket;
        private readonly System.Threading.Channels.Channel<JsonObject> _messages = System.Threading.Channels.Channel.CreateUnbounded<JsonObject>();

        private readonly Task _reading;

        public StreamClient(WebSocket socket)
        {
            _socket = socket;
            _reading = Task.Run(async () =>
            {
                var buffer = new byte[64 * 1024];
                try
                {
                    while (true)
                    {
                        var result = await _socket.ReceiveAsync(buffer, CancellationToken.None);
                        if (result.MessageType == WebSocketMessageType.Close) break;
                        _messages.Writer.TryWrite(JsonNode.Parse(Encoding.UTF8.GetString(buffer, 0, result.Count))!.AsObject());
                    }
                }
                catch (WebSocketException) { }
                catch (ObjectDisposedException) { }
                _messages.Writer.TryComplete();
            });
        }

        /// <summary>
        /// Reads until <paramref name="enough"/> holds for what has arrived, one message at a time;
        /// fails the test after 10 s with what did arrive. No window to miss on a slow machine.
        /// </summary>
        public async Task<List<JsonObject>> ReadUntilAsync(Func<List<JsonObject>, bool> enough)
        {
            var messages = new List<JsonObject>();
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                while (!enough(messages))
                    messages.Add(await _messages.Reader.ReadAsync(deadline.Token));
            }
            catch (OperationCanceledException)
            {
                Assert.Fail("still waiting after 10 s; received:\n" + string.Join("\n", messages.Select(m => m.ToJsonString())));
            }
            return messages;
        }

        /// <summary>
        /// The latest price of each of the three assets, sent first: the hub sends them once the
        /// socket is registered, so after them the socket gets everything published for it.
        /// </summary>
        public Task<List<JsonObject>> LatestPricesAsync() => ReadUntilAsync(ms => ms.Count(m => Type(m) == "price") == 3);

        /// <summary>Everything up to and including the price <paramref name="bid"/> of <paramref name="asset"/>.</summary>
        public Task<List<JsonObject>> ReadUntilPriceAsync(string asset, decimal bid) =>
            ReadUntilAsync(ms => ms.Count > 0 && Type(ms[^1]) == "price" && ms[^1]["asset"]!.GetValue<string>() == asset && ms[^1]["bid"].Dec() == bid);

        /// <summary>Starts the closing handshake and waits for the server's answer to end the reading.</summary>
        public async Task<WebSocket> CloseAsync()
        {
            await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
            await _reading.WaitAsync(TimeSpan.FromSeconds(10));
            return _socket;
        }

        public void Dispose() => _socket.Dispose();
    }

    private static string Type(JsonObject m) => m["type"]!.GetValue<string>();

    [Fact]
    public async Task An_unauthenticated_socket_gets_the_latest_prices_and_then_every_tick()
    {
        using var socket = await ConnectAsync(null);
        var initial = await socket.LatestPricesAsync();
        Assert.Equal(["BTC_USDC", "ETH_USDC", "SOL_USDC"], initial.Select(m => m["asset"]!.GetValue<string>()).Order());

        await _app.TickAsync("SOL_USDC", 241.00m, 241.10m);
        var tick = Assert.Single(await socket.ReadUntilAsync(ms => ms.Any(m => Type(m) == "price")));
        Assert.Equal("price", Type(tick));
        Assert.Equal("SOL_USDC", tick["asset"]!.GetValue<string>());
        Assert.Equal(241.00m, tick["bid"].Dec());
        Assert.Equal(241.10m, tick["ask"].Dec());
    }

    [Fact]
    public async Task A_close_from_the_client_is_answered_with_a_close()
    {
        using var socket = await ConnectAsync(null);
        await socket.LatestPricesAsync();

        var closed = await socket.CloseAsync();

        Assert.Equal(WebSocketState.Closed, closed.State);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, closed.CloseStatus);
    }

    [Fact]
    public async Task A_trader_receives_their_own_liquidation_and_nobody_else_does()
    {
        var alice = await _app.TraderAsync();
        var bob = await _app.TraderAsync();
        using var aliceSocket = await ConnectAsync(alice);
        using var bobSocket = await ConnectAsync(bob);
        using var anonymous = await ConnectAsync(null);
        await Task.WhenAll(aliceSocket.LatestPricesAsync(), bobSocket.LatestPricesAsync(), anonymous.LatestPricesAsync());

        var tradeId = await alice.OpenAsync("BTC_USDC", "SHORT", 500, 50);
        await _app.TickAsync("BTC_USDC", 96_420m, 96_430m);

        var toAlice = await aliceSocket.ReadUntilAsync(ms => ms.Any(m => Type(m) == "trade_closed") && ms.Any(m => Type(m) == "balance"));
        // Alice has had her events, so any sent to the others is queued by now, and a socket sends
        // its queued events before prices: a marker price ends what they could have received.
        await _app.TickAsync("ETH_USDC", 3_501m, 3_502m);
        var toBob = await bobSocket.ReadUntilPriceAsync("ETH_USDC", 3_501m);
        var toNobody = await anonymous.ReadUntilPriceAsync("ETH_USDC", 3_501m);

        Assert.True(toAlice.Any(m => Type(m) == "trade_opened"), string.Join("\n", toAlice.Select(m => m.ToJsonString())));
        Assert.Contains(toAlice, m => Type(m) == "trade_opened" && m["tradeId"]!.GetValue<string>() == tradeId);
        var closed = Assert.Single(toAlice, m => Type(m) == "trade_closed");
        Assert.Equal(tradeId, closed["tradeId"]!.GetValue<string>());
        Assert.Equal("LIQUIDATION", closed["reason"]!.GetValue<string>());
        Assert.Equal(-376.32m, closed["pnl"].Dec());
        Assert.Equal((500m, 0m), (closed["margin"].Dec(), closed["payout"].Dec())); // the whole margin lost
        var balance = toAlice.Last(m => Type(m) == "balance");
        Assert.Equal(4_500m, balance["balances"]!["USD"].Dec());

        Assert.All(toBob, m => Assert.Equal("price", Type(m)));
        Assert.All(toNobody, m => Assert.Equal("price", Type(m)));
        Assert.Contains(toBob, m => Type(m) == "price");
    }

    [Fact]
    public async Task A_plain_http_request_to_the_stream_is_a_400_problem()
    {
        var response = await _app.CreateClient().GetAsync("/api/v1/stream");
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("WEBSOCKET_REQUIRED", (await response.ProblemAsync())["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_traders_stream_opens_from_the_exchanges_own_pages_and_from_programs_without_an_origin()
    {
        var trader = await _app.TraderAsync();
        using var ownPage = await ConnectAsync(trader, origin: "http://localhost");
        using var program = await ConnectAsync(trader);

        await Task.WhenAll(ownPage.LatestPricesAsync(), program.LatestPricesAsync());

        var opened = await trader.OpenAsync("SOL_USDC", "LONG", 100, 10);

        foreach (var socket in new[] { ownPage, program })
            await socket.ReadUntilAsync(ms => ms.Any(m => Type(m) == "trade_opened" && m["tradeId"]!.GetValue<string>() == opened));
    }

    [Fact]
    public async Task Behind_a_proxy_that_rewrites_the_host_the_forwarded_host_is_the_sites_own()
    {
        var trader = await _app.TraderAsync();
        var client = _app.Server.CreateWebSocketClient();
        client.ConfigureRequest = r =>
        {
            r.Headers.Cookie = $"authToken={trader.Token}";
            r.Headers.Origin = "https://exchange.example";
            r.Headers["X-Forwarded-Host"] = "exchange.example";
        };

        using var socket = new StreamClient(await client.ConnectAsync(new Uri(_app.Server.BaseAddress, "api/v1/stream"), CancellationToken.None));
        Assert.Equal(3, (await socket.LatestPricesAsync()).Count);

        // Signed in, not merely a visitor's prices stream: the trader's own events come.
        var opened = await trader.OpenAsync("SOL_USDC", "LONG", 100, 10);
        await socket.ReadUntilAsync(ms => ms.Any(m => Type(m) == "trade_opened" && m["tradeId"]!.GetValue<string>() == opened));
    }

    [Fact]
    public async Task Over_tls_a_plain_http_page_of_the_same_host_gets_prices_only()
    {
        // Anyone on the network can write the http page; the browser still sends the cookie from it.
        var trader = await _app.TraderAsync();
        using var fromHttpPage = await ConnectAsync(trader, origin: "http://localhost", scheme: "wss");
        using var fromHttpsPage = await ConnectAsync(trader, origin: "https://localhost", scheme: "wss");
        await Task.WhenAll(fromHttpPage.LatestPricesAsync(), fromHttpsPage.LatestPricesAsync());

        var opened = await trader.OpenAsync("SOL_USDC", "LONG", 100, 10);
        await fromHttpsPage.ReadUntilAsync(ms => ms.Any(m => Type(m) == "trade_opened" && m["tradeId"]!.GetValue<string>() == opened));
        await _app.TickAsync("ETH_USDC", 3_501m, 3_502m);
        var toHttpPage = await fromHttpPage.ReadUntilPriceAsync("ETH_USDC", 3_501m);

        Assert.All(toHttpPage, m => Assert.Equal("price", Type(m)));
    }

    [Theory]
    [InlineData("http://localhost:8080")] // another port of the same host: same site, so the cookie comes along
    [InlineData("http://evil.localhost")]
    [InlineData("null")]
    public async Task A_page_of_another_origin_gets_prices_only_and_cannot_tell_whether_its_visitor_is_signed_in(string origin)
    {
        var trader = await _app.TraderAsync();
        using var withCookie = await ConnectAsync(trader, origin);
        using var ownPage = await ConnectAsync(trader, origin: "http://localhost");
        await Task.WhenAll(withCookie.LatestPricesAsync(), ownPage.LatestPricesAsync());

        var opened = await trader.OpenAsync("SOL_USDC", "LONG", 100, 10);
        await ownPage.ReadUntilAsync(ms => ms.Any(m => Type(m) == "trade_opened" && m["tradeId"]!.GetValue<string>() == opened));
        // The trader's own page has had the event, so one sent to the other socket is queued by now: a marker price ends what it could receive.
        await _app.TickAsync("ETH_USDC", 3_501m, 3_502m);
        var toOtherOrigin = await withCookie.ReadUntilPriceAsync("ETH_USDC", 3_501m);

        Assert.All(toOtherOrigin, m => Assert.Equal("price", Type(m)));
    }
}
