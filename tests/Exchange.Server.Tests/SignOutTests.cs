using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Exchange.Server.Tests;

/// <summary>Signing out refuses the token signed out of, wherever it is sent and after a restart; other sign-ins go on.</summary>
public sealed class SignOutTests
{
    [Fact]
    public async Task A_token_signed_out_of_is_refused_everywhere_and_after_a_restart_while_other_sign_ins_go_on()
    {
        using var folder = new TempDataFolder("exchange-signout-");
        var dataDirectory = folder.Path;
        string email, signedOutToken, otherToken;
        await using (var app = new ExchangeApp(dataDirectory))
        {
            await app.MarketAsync();
            var trader = await app.TraderAsync();
            email = trader.Email;
            signedOutToken = trader.Token;
            otherToken = await SignInAsync(app, email);

            var signout = await Bearer(app, signedOutToken).PostAsync("/api/v1/auth/signout", null);
            Assert.Equal(HttpStatusCode.NoContent, signout.StatusCode);

            Assert.Equal(HttpStatusCode.Unauthorized, (await Bearer(app, signedOutToken).GetAsync("/api/v1/auth/me")).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized,
                (await Bearer(app, signedOutToken).PostAsJsonAsync("/api/v1/engine", new { command = "GET_BALANCE" })).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await trader.Client.GetAsync("/api/v1/balance")).StatusCode); // its cookie: the same token
            Assert.Equal(HttpStatusCode.OK, (await Bearer(app, otherToken).GetAsync("/api/v1/balance")).StatusCode);
        }

        await using var restarted = new ExchangeApp(dataDirectory);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Bearer(restarted, signedOutToken).GetAsync("/api/v1/auth/me")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Bearer(restarted, otherToken).GetAsync("/api/v1/auth/me")).StatusCode);
    }

    [Fact]
    public async Task A_traders_stream_closes_once_its_token_is_signed_out_of()
    {
        await using var app = new ExchangeApp();
        await app.MarketAsync();
        var trader = await app.TraderAsync();
        var client = app.Server.CreateWebSocketClient();
        client.ConfigureRequest = r => r.Headers.Authorization = $"Bearer {trader.Token}";
        using var socket = await client.ConnectAsync(new Uri(app.Server.BaseAddress, "api/v1/stream"), CancellationToken.None);

        var received = await SignOutAndReadUntilCloseAsync(app, trader, socket);

        Assert.Equal(WebSocketMessageType.Close, received.MessageType);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, received.CloseStatus);
    }

    [Fact]
    public async Task Over_real_sockets_a_signed_out_stream_gets_a_close_frame_not_a_reset()
    {
        // Kestrel's WebSocket, not the test server's: a cancelled pending receive aborts it, so the server must not cancel its read before its close is out.
        await using var app = new ExchangeApp();
        app.UseKestrel(0);
        app.StartServer();
        await app.MarketAsync();
        var trader = await app.TraderAsync();
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", $"Bearer {trader.Token}");
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());
        await socket.ConnectAsync(new Uri($"ws://{address.Authority}/api/v1/stream"), CancellationToken.None);

        var received = await SignOutAndReadUntilCloseAsync(app, trader, socket);

        Assert.Equal(WebSocketCloseStatus.NormalClosure, received.CloseStatus);
        Assert.Equal("bye", received.CloseStatusDescription);
    }

    /// <summary>Signs the trader out, wakes the stream with a tick, and reads it until the server's close.</summary>
    private static async Task<WebSocketReceiveResult> SignOutAndReadUntilCloseAsync(ExchangeApp app, Trader trader, WebSocket socket)
    {
        await Bearer(app, trader.Token).PostAsync("/api/v1/auth/signout", null);
        await app.TickAsync("SOL_USDC", 239.95m, 240.05m);

        var buffer = new byte[64 * 1024];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        WebSocketReceiveResult received;
        do received = await socket.ReceiveAsync(buffer, timeout.Token);
        while (received.MessageType != WebSocketMessageType.Close);
        return received;
    }

    private static HttpClient Bearer(WebApplicationFactory<Program> app, string token)
    {
        var client = app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    private static async Task<string> SignInAsync(WebApplicationFactory<Program> app, string email)
    {
        var signin = await app.CreateClient().PostAsJsonAsync("/api/v1/auth/signin", new { email, password = "correct horse battery" });
        signin.EnsureSuccessStatusCode();
        return (await signin.Content.ReadFromJsonAsync<System.Text.Json.Nodes.JsonObject>())!["token"]!.GetValue<string>();
    }
}
