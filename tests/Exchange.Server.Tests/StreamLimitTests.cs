using System.Net.WebSockets;
using Exchange.Server.Push;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Exchange.Server.Tests;

/// <summary>Nobody can hold open push streams without end: one client address, and everyone together, have a cap.</summary>
public sealed class StreamLimitTests
{
    private static Task<WebSocket> ConnectAsync(WebApplicationFactory<Program> app) =>
        app.Server.CreateWebSocketClient().ConnectAsync(new Uri(app.Server.BaseAddress, "api/v1/stream"), CancellationToken.None);

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
        var hub = small.Services.GetRequiredService<PushHub>();
        while (hub.Connections < 2) await Task.Delay(10); // each counts once the server serves it

        var refused = await Assert.ThrowsAnyAsync<InvalidOperationException>(() => ConnectAsync(small));
        Assert.Contains("503", refused.Message);
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
