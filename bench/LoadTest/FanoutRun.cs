using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Text.Json;

namespace Exchange.LoadTest;

/// <summary>
/// `fanout` mode: N WebSocket clients on /api/v1/stream, each reading continuously; the delivery
/// latency of a price message is its receive time minus its `ts` (Unix ms stamped when the feed
/// published the tick), both from this machine's wall clock. `ts` has millisecond resolution and
/// is truncated, so every sample over-states the true latency by 0-1 ms (0.5 ms on average);
/// a client thread's own scheduling delay on a shared CPU is included too.
/// </summary>
public static class FanoutRun
{
    public const string Usage = """
        WebSocket fan-out: N clients on the push stream, delivery latency of price ticks.

          fanout --clients N --seconds S --url ws://127.0.0.1:3300/api/v1/stream
          --clients N            concurrent WebSocket clients (default 1000)
          --seconds S            measured window (default 30)
          --warmup S             unmeasured lead-in once every client is connected (default 5)
          --url URL              stream address (default ws://127.0.0.1:3300/api/v1/stream)
          --connect-concurrency C  parallel handshakes while connecting (default 50)
          --server-pid PID       also report the server's CPU (utime+stime from /proc/PID/stat) over the window
          --max-p99-ms MS        goal for the verdict line (default 50)
        """;

    private sealed record Options
    {
        public int Clients { get; init; } = 1000;
        public double Seconds { get; init; } = 30;
        public double Warmup { get; init; } = 5;
        public Uri Url { get; init; } = new("ws://127.0.0.1:3300/api/v1/stream");
        public int ConnectConcurrency { get; init; } = 50;
        public int? ServerPid { get; init; }
        public double MaxP99Ms { get; init; } = 50;

        public static Options Parse(string[] args)
        {
            var o = new Options();
            for (var i = 0; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
                double Number() => double.Parse(Next(), NumberStyles.Float, CultureInfo.InvariantCulture);
                int Whole() => int.Parse(Next(), NumberStyles.Integer, CultureInfo.InvariantCulture);
                o = args[i] switch
                {
                    "--clients" => o with { Clients = Whole() },
                    "--seconds" => o with { Seconds = Number() },
                    "--warmup" => o with { Warmup = Number() },
                    "--url" => o with { Url = new Uri(Next()) },
                    "--connect-concurrency" => o with { ConnectConcurrency = Whole() },
                    "--server-pid" => o with { ServerPid = Whole() },
                    "--max-p99-ms" => o with { MaxP99Ms = Number() },
                    _ => throw new ArgumentException($"unknown option {args[i]}"),
                };
            }
            if (o.Clients < 1 || o.Seconds <= 0 || o.Warmup < 0 || o.ConnectConcurrency < 1)
                throw new ArgumentException("--clients, --seconds and --connect-concurrency must be positive.");
            return o;
        }
    }

    /// <summary>Shared between every client's read loop; only counters and the histogram are written.</summary>
    private sealed class Shared
    {
        public readonly LatencyHistogram Latency = new();
        public readonly ConcurrentDictionary<(string Asset, long Ts), byte> Ticks = new();
        public volatile bool Measuring;
        public long Others;
        public long Malformed;
        public long Dropped;
        public long PricesOutsideWindow;
    }

    public static async Task<int> RunAsync(string[] args)
    {
        Options options;
        try
        {
            options = Options.Parse(args);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or UriFormatException)
        {
            Console.Error.WriteLine($"loadtest fanout: {e.Message}");
            Console.Error.WriteLine(Usage);
            return 2;
        }

        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, 16), io);

        Console.WriteLine($"loadtest fanout {string.Join(' ', args)}");
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, .NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, load average before: {LoadAverage()}");

        var shared = new Shared();
        using var stop = new CancellationTokenSource();
        var sockets = new ClientWebSocket?[options.Clients];
        var failed = 0;
        var connectTime = Stopwatch.StartNew();
        using (var gate = new SemaphoreSlim(options.ConnectConcurrency))
        {
            await Task.WhenAll(Enumerable.Range(0, options.Clients).Select(async i =>
            {
                await gate.WaitAsync();
                try
                {
                    var socket = new ClientWebSocket();
                    socket.Options.KeepAliveInterval = Timeout.InfiniteTimeSpan;
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                    try
                    {
                        await socket.ConnectAsync(options.Url, timeout.Token);
                        sockets[i] = socket;
                    }
                    catch (Exception e) when (e is WebSocketException or OperationCanceledException or System.Net.Http.HttpRequestException)
                    {
                        socket.Dispose();
                        if (Interlocked.Increment(ref failed) <= 3) Console.Error.WriteLine($"connect failed: {e.Message}");
                    }
                }
                finally
                {
                    gate.Release();
                }
            }));
        }
        var connected = sockets.Count(s => s is not null);
        Console.WriteLine($"connected: {connected} of {options.Clients} in {connectTime.Elapsed.TotalSeconds:F1} s ({failed} failed)");

        var readers = sockets.Where(s => s is not null).Select(s => Task.Run(() => ReadAsync(s!, shared, stop.Token))).ToArray();

        await Task.Delay(TimeSpan.FromSeconds(options.Warmup));
        var serverBefore = options.ServerPid is { } pid ? CpuTicks(pid) : null;
        var selfBefore = CpuTicks(Environment.ProcessId);
        var droppedBefore = Interlocked.Read(ref shared.Dropped);
        var wall = Stopwatch.StartNew();
        shared.Measuring = true;
        await Task.Delay(TimeSpan.FromSeconds(options.Seconds));
        shared.Measuring = false;
        var seconds = wall.Elapsed.TotalSeconds;
        var serverAfter = options.ServerPid is { } pid2 ? CpuTicks(pid2) : null;
        var selfAfter = CpuTicks(Environment.ProcessId);
        var droppedInWindow = Interlocked.Read(ref shared.Dropped) - droppedBefore;
        var loadAfter = LoadAverage();

        await stop.CancelAsync();
        foreach (var socket in sockets) socket?.Abort();
        try
        {
            await Task.WhenAll(readers).WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
            Console.Error.WriteLine("some readers did not stop within 10 s");
        }
        foreach (var socket in sockets) socket?.Dispose();

        var h = shared.Latency;
        var prices = h.Count;
        var ticks = shared.Ticks.Count;
        var stillOpen = connected - (int)droppedInWindow;
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"window: {seconds:F1} s; distinct ticks published and seen: {ticks} ({ticks / seconds:F1}/s over all assets)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"price messages received: {prices} ({prices / seconds:F0}/s; {(ticks == 0 || connected == 0 ? 0 : 100.0 * prices / ((double)ticks * connected)):F2} % of ticks x clients, the rest conflated)"));
        Console.WriteLine($"other messages: {Interlocked.Read(ref shared.Others)}, malformed: {Interlocked.Read(ref shared.Malformed)}");
        Console.WriteLine($"connections: {connected} connected, {failed} failed to connect, {droppedInWindow} dropped during the window, {Interlocked.Read(ref shared.Dropped) - droppedInWindow} dropped during warm-up");
        Console.WriteLine();
        Console.WriteLine("| clients | msgs/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | mean ms |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {stillOpen} | {prices / seconds:F0} | {Ms(h.PercentileMicros(50))} | {Ms(h.PercentileMicros(90))} | {Ms(h.PercentileMicros(99))} | {Ms(h.PercentileMicros(99.9))} | {Ms(h.MaxMicros)} | {h.MeanMicros / 1000:F2} |"));
        Console.WriteLine();
        double? serverCores = null;
        if (serverBefore is { } sb && serverAfter is { } sa)
        {
            serverCores = (sa - sb) / 100.0 / seconds;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"server CPU (pid {options.ServerPid}): {(sa - sb) / 100.0:F2} s in {seconds:F1} s = {serverCores:F3} cores"));
        }
        if (selfBefore is { } lb && selfAfter is { } la)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"load generator CPU: {(la - lb) / 100.0:F2} s = {(la - lb) / 100.0 / seconds:F3} cores"));
        Console.WriteLine($"load average after: {loadAfter}");
        var p99Ok = h.PercentileMicros(99) <= options.MaxP99Ms * 1000 && prices > 0;
        var cpuOk = serverCores is null or < 1.0;
        var connOk = failed == 0 && droppedInWindow == 0;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"verdict: p99 {Ms(h.PercentileMicros(99))} ms {(p99Ok ? "<=" : ">")} {options.MaxP99Ms} ms; server CPU {(serverCores is { } c ? c.ToString("F3", CultureInfo.InvariantCulture) + " cores" : "not measured")} {(serverCores is null ? "" : cpuOk ? "< 1" : ">= 1")}; connections {(connOk ? "all kept" : "lost some")} -> {(p99Ok && cpuOk && connOk ? "ok" : "FAIL")}"));
        return p99Ok && cpuOk && connOk ? 0 : 1;
    }

    private static async Task ReadAsync(ClientWebSocket socket, Shared shared, CancellationToken stop)
    {
        var buffer = new byte[4096];
        var filled = 0;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var result = await socket.ReceiveAsync(buffer.AsMemory(filled), stop);
                // Stamped before any parsing: the time this client got the frame.
                var nowMicros = (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) / 10;
                if (result.MessageType == WebSocketMessageType.Close) break;
                filled += result.Count;
                if (!result.EndOfMessage)
                {
                    if (filled == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2);
                    continue;
                }
                Record(buffer.AsSpan(0, filled), nowMicros, shared);
                filled = 0;
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException) { }
        if (!stop.IsCancellationRequested) Interlocked.Increment(ref shared.Dropped);
    }

    private static void Record(ReadOnlySpan<byte> json, long nowMicros, Shared shared)
    {
        string? type = null, asset = null;
        long ts = -1;
        try
        {
            var reader = new Utf8JsonReader(json);
            while (reader.Read())
            {
                if (reader.TokenType != JsonTokenType.PropertyName || reader.CurrentDepth != 1) continue;
                if (reader.ValueTextEquals("type"u8)) { reader.Read(); type = reader.GetString(); }
                else if (reader.ValueTextEquals("asset"u8)) { reader.Read(); asset = reader.GetString(); }
                else if (reader.ValueTextEquals("ts"u8)) { reader.Read(); ts = reader.GetInt64(); }
                else reader.Skip();
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            Interlocked.Increment(ref shared.Malformed);
            return;
        }
        if (type != "price")
        {
            Interlocked.Increment(ref shared.Others);
            return;
        }
        if (asset is null || ts < 0)
        {
            Interlocked.Increment(ref shared.Malformed);
            return;
        }
        if (!shared.Measuring)
        {
            Interlocked.Increment(ref shared.PricesOutsideWindow);
            return;
        }
        shared.Latency.Record(nowMicros - ts * 1000);
        var key = (asset, ts);
        if (!shared.Ticks.ContainsKey(key)) shared.Ticks.TryAdd(key, 0);
    }

    /// <summary>utime + stime of a process in USER_HZ ticks (1/100 s), from /proc/PID/stat; null off Linux.</summary>
    private static long? CpuTicks(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // Fields 14 and 15 of stat(5); the split starts at field 3 (state).
            return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string Ms(long micros) => (micros / 1000.0).ToString("F1", CultureInfo.InvariantCulture);

    private static string LoadAverage()
    {
        try
        {
            return File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
        }
        catch (IOException)
        {
            return "n/a";
        }
    }
}
