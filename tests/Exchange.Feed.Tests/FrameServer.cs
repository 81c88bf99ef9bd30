using System.Collections.Concurrent;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Exchange.Feed.Tests;

/// <summary>
/// A local WebSocket server (Kestrel on 127.0.0.1, a free port) standing in for an exchange:
/// each accepted connection is handed to the test's script with its number, 0 for the first.
/// </summary>
public sealed class FrameServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FrameServer(WebApplication app) => _app = app;

    public Uri Url { get; private set; } = null!;

    /// <summary>Path and query of each WebSocket request, in order.</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    public int Connections => Requests.Count;

    public static async Task<FrameServer> StartAsync(Func<ExchangeConnection, Task> script, int port = 0)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        var server = new FrameServer(app);
        app.UseWebSockets();
        app.Run(async context =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                context.Response.StatusCode = 400;
                return;
            }
            int index;
            lock (server.Requests)
            {
                index = server.Requests.Count;
                server.Requests.Enqueue(context.Request.Path + context.Request.QueryString);
            }
            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            try
            {
                await script(new ExchangeConnection(index, socket, context));
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
            {
                // The adapter hung up first: fine, that is what some tests provoke.
            }
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        server.Url = new Uri(address.Replace("http://", "ws://", StringComparison.Ordinal));
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(stop.Token);
        await _app.DisposeAsync();
    }
}

/// <summary>One accepted connection, as the exchange side sees it.</summary>
public sealed class ExchangeConnection(int index, WebSocket socket, HttpContext context)
{
    public int Index => index;

    public CancellationToken Aborted => context.RequestAborted;

    public Task SendAsync(string text) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, context.RequestAborted);

    public async Task SendAllAsync(IEnumerable<string> frames)
    {
        foreach (var frame in frames)
            await SendAsync(frame);
    }

    public async Task<string> ReceiveTextAsync()
    {
        var buffer = new byte[16 * 1024];
        var length = 0;
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer.AsMemory(length), context.RequestAborted);
            length += result.Count;
            if (result.EndOfMessage)
                return Encoding.UTF8.GetString(buffer, 0, length);
        }
    }

    /// <summary>A clean close handshake, as an exchange does when it ends a session.</summary>
    public Task CloseAsync() =>
        socket.CloseAsync(WebSocketCloseStatus.EndpointUnavailable, "server restarting", context.RequestAborted);

    /// <summary>Drops the TCP connection without a close frame, as a network failure would.</summary>
    public void Abort() => context.Abort();

    /// <summary>Keeps the connection open and silent until the adapter leaves (or sends a close).</summary>
    public async Task StaySilentAsync()
    {
        var buffer = new byte[1024];
        while (socket.State == WebSocketState.Open)
        {
            var result = await socket.ReceiveAsync(buffer, context.RequestAborted);
            if (result.MessageType == WebSocketMessageType.Close)
                return;
        }
    }
}
