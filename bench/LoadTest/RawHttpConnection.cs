using System.Buffers.Text;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Exchange.LoadTest;

/// <summary>What came back for one request.</summary>
public readonly record struct RawReply(int Status, ReadOnlyMemory<byte> Body);

/// <summary>
/// One HTTP/1.1 keep-alive connection over a plain socket, one request at a time: the request
/// is written as prepared bytes and the reply read with a minimal parser (status line,
/// Content-Length or chunked body). <see cref="HttpClient"/> cost the generator ~130 µs of CPU
/// per request, a third of what the server spends on it while both share two cores; this path
/// is a send, a receive or two, and a scan of a few hundred bytes.
/// </summary>
public sealed class RawHttpConnection : IAsyncDisposable
{
    private readonly Socket _socket;
    private byte[] _buffer = new byte[16 << 10];
    private byte[] _body = new byte[4 << 10];

    private RawHttpConnection(Socket socket) => _socket = socket;

    public static async Task<RawHttpConnection> OpenAsync(Uri server, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(new DnsEndPoint(server.Host, server.Port), cancellationToken);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new RawHttpConnection(socket);
    }

    /// <summary>The bytes of one POST with a JSON body, ready to send.</summary>
    public static byte[] Post(Uri server, string path, string authorization, ReadOnlySpan<byte> json)
    {
        var head = Encoding.ASCII.GetBytes(
            $"POST {path} HTTP/1.1\r\nHost: {server.Authority}\r\nAuthorization: {authorization}\r\n" +
            $"Content-Type: application/json\r\nContent-Length: {json.Length}\r\n\r\n");
        var request = new byte[head.Length + json.Length];
        head.CopyTo(request, 0);
        json.CopyTo(request.AsSpan(head.Length));
        return request;
    }

    /// <summary>Sends one request and reads its whole reply; the body stays valid until the next call.</summary>
    public async ValueTask<RawReply> SendAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
    {
        while (!request.IsEmpty)
        {
            var sent = await _socket.SendAsync(request, SocketFlags.None, cancellationToken);
            request = request[sent..];
        }
        var filled = 0;
        int headerEnd;
        while ((headerEnd = _buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8)) < 0) filled = await ReceiveAsync(filled, cancellationToken);
        var head = _buffer.AsSpan(0, headerEnd);
        if (head.Length < 12 || !Utf8Parser.TryParse(head.Slice(9, 3), out int status, out _))
            throw new InvalidDataException("Not an HTTP/1.1 status line.");
        var bodyStart = headerEnd + 4;
        if (ContentLength(head) is { } contentLength)
        {
            while (filled < bodyStart + contentLength) filled = await ReceiveAsync(filled, cancellationToken);
            return new RawReply(status, _buffer.AsMemory(bodyStart, contentLength));
        }
        // Chunked: "<hex size>\r\n<data>\r\n" until a zero size, then the final "\r\n".
        var bodyLength = 0;
        var at = bodyStart;
        while (true)
        {
            int lineEnd;
            while ((lineEnd = _buffer.AsSpan(at, filled - at).IndexOf("\r\n"u8)) < 0) filled = await ReceiveAsync(filled, cancellationToken);
            if (!Utf8Parser.TryParse(_buffer.AsSpan(at, lineEnd), out int size, out _, 'x')) throw new InvalidDataException("Bad chunk size.");
            at += lineEnd + 2;
            while (filled < at + size + 2) filled = await ReceiveAsync(filled, cancellationToken);
            if (size == 0) return new RawReply(status, _body.AsMemory(0, bodyLength));
            if (_body.Length < bodyLength + size) Array.Resize(ref _body, Math.Max(_body.Length * 2, bodyLength + size));
            _buffer.AsSpan(at, size).CopyTo(_body.AsSpan(bodyLength));
            bodyLength += size;
            at += size + 2;
        }
    }

    private async ValueTask<int> ReceiveAsync(int filled, CancellationToken cancellationToken)
    {
        if (filled == _buffer.Length) Array.Resize(ref _buffer, _buffer.Length * 2);
        var n = await _socket.ReceiveAsync(_buffer.AsMemory(filled), SocketFlags.None, cancellationToken);
        if (n == 0) throw new IOException("The server closed the connection.");
        return filled + n;
    }

    private static int? ContentLength(ReadOnlySpan<byte> head)
    {
        foreach (var range in head.Split("\r\n"u8))
        {
            var line = head[range];
            var colon = line.IndexOf((byte)':');
            if (colon < 0 || !Ascii.EqualsIgnoreCase(line[..colon], "content-length"u8)) continue;
            return Utf8Parser.TryParse(line[(colon + 1)..].Trim((byte)' '), out int length, out _)
                ? length
                : throw new InvalidDataException("Bad Content-Length.");
        }
        return null;
    }

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
