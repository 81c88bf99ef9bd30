using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Exchange.LoadTest.Tests;

/// <summary>
/// An HTTP/1.1 server on a loopback socket whose answers the test decides: each request gets
/// the answer of <c>reply(n)</c> for the n-th request overall, after its delay, or none at all
/// (null). What it stands in for is not under test; the generator's accounting of it is.
/// </summary>
public sealed class StubServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Func<long, (TimeSpan Delay, int Status)?> _reply;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private long _requests;

    public StubServer(Func<long, (TimeSpan Delay, int Status)?> reply)
    {
        _reply = reply;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public Uri Url => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");

    private async Task AcceptAsync()
    {
        var connections = new List<Task>();
        try
        {
            while (true) connections.Add(ServeAsync(await _listener.AcceptSocketAsync(_stop.Token)));
        }
        catch (OperationCanceledException)
        {
        }
        await Task.WhenAll(connections);
    }

    private async Task ServeAsync(Socket socket)
    {
        using var _ = socket;
        var buffer = new byte[8192];
        var filled = 0;
        try
        {
            while (true)
            {
                // One request: headers, then Content-Length bytes of body.
                int end;
                while ((end = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8)) < 0) filled += await ReceiveAsync(socket, buffer, filled);
                var head = Encoding.ASCII.GetString(buffer, 0, end);
                var lengthLine = head.Split("\r\n").FirstOrDefault(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
                var length = lengthLine is null ? 0 : int.Parse(lengthLine[15..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
                while (filled < end + 4 + length) filled += await ReceiveAsync(socket, buffer, filled);
                buffer.AsSpan(end + 4 + length, filled - end - 4 - length).CopyTo(buffer);
                filled -= end + 4 + length;

                if (!head.StartsWith("POST ", StringComparison.Ordinal)) // the generator's look at /metrics: none here
                {
                    await socket.SendAsync("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"u8.ToArray(), _stop.Token);
                    continue;
                }
                if (_reply(Interlocked.Increment(ref _requests)) is not { } answer)
                {
                    await Task.Delay(Timeout.Infinite, _stop.Token); // never answered
                    return;
                }
                if (answer.Delay > TimeSpan.Zero) await Task.Delay(answer.Delay, _stop.Token);
                var body = answer.Status < 300 ? "{\"success\":true,\"latency\":0.1}" : "{\"success\":false,\"code\":\"TRADE_NOT_FOUND\"}";
                await socket.SendAsync(Encoding.ASCII.GetBytes(
                    $"HTTP/1.1 {answer.Status} X\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n{body}"), _stop.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or IOException)
        {
            // stopped, or the generator hung up
        }
    }

    private async Task<int> ReceiveAsync(Socket socket, byte[] buffer, int filled)
    {
        var n = await socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, _stop.Token);
        return n == 0 ? throw new IOException("closed") : n;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }
}
