using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Exchange.Server.Push;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Exchange.Server.Tests;

/// <summary>Nobody can hold open push streams without end: one client address, one trader, and everyone together, have a cap.</summary>
public sealed class StreamLimitTests
{
    /// <summary>A stream, anonymous or with <paramref name="token"/> as a Bearer token.</summary>
    private static Task<WebSocket> ConnectAsync(WebApplicationFactory<Program> app, string? token = null)
    {
        var client = app.Server.CreateWebSocketClient();
        if (token is not null) client.ConfigureRequest = r => r.Headers.Authorization = $"Bearer {token}";
        return client.ConnectAsync(new Uri(app.Server.BaseAddress, "api/v1/stream"), CancellationToken.None);
    }

    /// <summary>Until the server serves <paramref name="count"/> streams: each counts once it is served, a moment after the handshake.</summary>
    private static async Task ServingAsync(WebApplicationFactory<Program> app, int count)
    {
        var hub = app.Services.GetRequiredService<PushHub>();
        while (hub.Connections < count) await Task.Delay(10);
    }

    [Fact]
    public async Task A_client_over_its_stream_limit_gets_429_until_it_closes_one()
    {
        await using var app = new ExchangeApp();
        await using var strict = app.WithWebHostBuilder(b => b.UseSetting("STREAM_LIMIT_PER_CLIENT", "2"));
        using var first = await ConnectAsync(strict);
        using var second = await ConnectAsync(strict);

        var refused = await Assert.ThrowsAnyAsync<InvalidOperationException>(() => ConnectAsync(strict));
        Assert.Contains("429", refused.Message);

        await first.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        using var third = await ConnectedOnceFreedAsync(strict);
        Assert.Equal(WebSocketState.Open, third.State);
    }

    [Fact]
    public async Task Streams_over_the_exchanges_limit_get_503()
    {
        await using var app = new ExchangeApp();
        await using var small = app.WithWebHostBuilder(b => b.UseSetting("STREAM_LIMIT", "2"));
        using var first = await ConnectAsync(small);
        using var second = await ConnectAsync(small);
        await ServingAsync(small, 2);

        var refused = await Assert.ThrowsAnyAsync<InvalidOperationException>(() => ConnectAsync(small));
        Assert.Contains("503", refused.Message);
    }

    [Fact]
    public async Task The_last_fifth_of_the_streams_is_kept_for_signed_in_traders()
    {
        await using var app = new ExchangeApp();
        await using var small = app.WithWebHostBuilder(b => b.UseSetting("STREAM_LIMIT", "5"));
        var signup = await small.CreateClient().PostAsJsonAsync("/api/v1/auth/signup",
            new { email = $"trader-{Guid.NewGuid():N}@example.com", password = "correct horse battery" });
        var token = (await signup.Content.ReadFromJsonAsync<JsonObject>())!["token"]!.GetValue<string>();
        var anonymous = new List<WebSocket>();
        for (var i = 0; i < 4; i++) anonymous.Add(await ConnectAsync(small));
        await ServingAsync(small, 4);

        var refused = await Assert.ThrowsAnyAsync<InvalidOperationException>(() => ConnectAsync(small));
        using var trader = await ConnectAsync(small, token);

        Assert.Contains("503", refused.Message);
        Assert.Equal(WebSocketState.Open, trader.State);
        foreach (var socket in anonymous) socket.Dispose();
    }

    [Fact]
    public async Task A_trader_over_the_stream_limit_from_several_addresses_gets_429_while_others_still_connect()
    {
        await using var app = new ExchangeApp();
        await using var strict = app.WithWebHostBuilder(b =>
        {
            b.UseSetting("STREAM_LIMIT_PER_CLIENT", "2");
            b.ConfigureServices(s => s.AddSingleton<IStartupFilter, ClientAddressFromHeader>());
        });
        var signup = await strict.CreateClient().PostAsJsonAsync("/api/v1/auth/signup",
            new { email = $"trader-{Guid.NewGuid():N}@example.com", password = "correct horse battery" });
        var body = (await signup.Content.ReadFromJsonAsync<JsonObject>())!;
        var token = body["token"]!.GetValue<string>();
        var user = Guid.Parse(body["user"]!["id"]!.GetValue<string>());
        using var first = await ConnectFromAsync(strict, "10.0.0.1", token);
        using var second = await ConnectFromAsync(strict, "10.0.0.2", token);
        var hub = strict.Services.GetRequiredService<PushHub>();
        int StreamsOfTrader() => hub.OpenConnections.Count(c => c.User == user);
        while (StreamsOfTrader() < 2) await Task.Delay(10);

        var refused = await Assert.ThrowsAnyAsync<InvalidOperationException>(() => ConnectFromAsync(strict, "10.0.0.3", token));
        using var visitor = await ConnectFromAsync(strict, "10.0.0.3", token: null);

        Assert.Contains("429", refused.Message);
        Assert.Equal(WebSocketState.Open, visitor.State);
        Assert.Equal(2, StreamsOfTrader());
    }

    private static Task<WebSocket> ConnectFromAsync(WebApplicationFactory<Program> app, string address, string? token)
    {
        var client = app.Server.CreateWebSocketClient();
        client.ConfigureRequest = r =>
        {
            r.Headers[ClientAddressFromHeader.Header] = address;
            if (token is not null) r.Headers.Authorization = $"Bearer {token}";
        };
        return client.ConnectAsync(new Uri(app.Server.BaseAddress, "api/v1/stream"), CancellationToken.None);
    }

    /// <summary>The server lets a stream's permit go once it has seen the close; until then a new one is still 429.</summary>
    private static async Task<WebSocket> ConnectedOnceFreedAsync(WebApplicationFactory<Program> app)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await ConnectAsync(app);
            }
            catch (InvalidOperationException e) when (e.Message.Contains("429") && attempt < 100)
            {
                await Task.Delay(50);
            }
        }
    }
}
