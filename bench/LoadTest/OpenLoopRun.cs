using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Threading.Channels;

namespace Exchange.LoadTest;

/// <summary>What one run at one planned rate measured (only slots planned after the warm-up).</summary>
public sealed class StepResult
{
    public required double PlannedRate { get; init; }
    public required double Seconds { get; init; }
    public int Dispatchers { get; init; } = 1;

    /// <summary>From the planned send time to the last byte of the reply: what a client on this schedule waits.</summary>
    public LatencyHistogram Latency { get; } = new();

    /// <summary>From the moment the request was handed to the HTTP handler to the reply.</summary>
    public LatencyHistogram Service { get; } = new();

    /// <summary>From the planned time to the dispatcher putting the slot in line: the generator's own lateness.</summary>
    public LatencyHistogram DispatchLag { get; } = new();

    /// <summary>
    /// From the slot put in line to a connection sending it: the wait for a free connection,
    /// which grows when replies are slow (the server's doing, not the generator's).
    /// </summary>
    public LatencyHistogram ConnectionWait { get; } = new();

    /// <summary>The envelope's "latency": the server's own timing of engine submit to durable reply.</summary>
    public LatencyHistogram ServerLatency { get; } = new();

    public long Planned;
    public long Created;
    public long Closed;
    public long Rejected;
    public long Errors;
    public long WindowReplies;
    public long WindowTrades;

    /// <summary>Commands sent and not yet answered when the window opened and when it closed: a growing backlog is a server falling behind.</summary>
    public long InFlightAtStart;
    public long InFlightAtEnd;
    public ConcurrentDictionary<string, long> RejectCodes { get; } = new();
    public ConcurrentDictionary<string, long> ErrorKinds { get; } = new();
    public IReadOnlyList<ThreadUse>? ServerCpu { get; set; }
    public (double Busy, double Idle, double Steal)? Machine { get; set; }
    public double GeneratorCpuMs { get; set; }

    /// <summary>The server's /metrics at the start and the end of the window.</summary>
    public (ServerMetrics Start, ServerMetrics End)? ServerMetrics { get; set; }

    /// <summary>With --sched-trace: what else held a CPU while the slowest replies waited (<see cref="LoadTest.SchedTrace"/>).</summary>
    public IReadOnlyList<string>? SchedTrace { get; set; }

    /// <summary>Successful CREATE_TRADE + CLOSE_TRADE replies received inside the measured window, per second.</summary>
    public double TradesPerSecond => WindowTrades / Seconds;

    /// <summary>Every reply (success, reject or error) received inside the measured window, per second.</summary>
    public double RepliesPerSecond => WindowReplies / Seconds;

    /// <summary>
    /// The window's own commands answered with success, per second, whenever the answer came:
    /// replies in the window can include a backlog from the warm-up.
    /// </summary>
    public double PlannedTradesPerSecond => (Created + Closed) / Seconds;

    public string Verdict(double maxP99Ms)
    {
        if (Errors > 0) return "errors";
        // Refusals answer fast: at any rate they would stand in for the slow replies of a run that keeps pace.
        if (Rejected > 0) return "rejects";
        if (TradesPerSecond < 0.95 * PlannedRate || PlannedTradesPerSecond < 0.95 * PlannedRate) return "behind";
        if (InFlightAtEnd - InFlightAtStart > 0.01 * Planned) return "behind (backlog grew)";
        if (Latency.PercentileMicros(99) > maxP99Ms * 1000) return "p99 too high";
        return "ok";
    }

    public void Print(TextWriter o)
    {
        o.WriteLine($"planned rate        {PlannedRate:F0} commands/s (CREATE_TRADE + CLOSE_TRADE), {Seconds:F0} s measured, {Dispatchers} dispatcher{(Dispatchers == 1 ? "" : "s")}");
        o.WriteLine($"achieved            {TradesPerSecond:F0} trades/s (successful CREATE_TRADE + CLOSE_TRADE replies in the window), {RepliesPerSecond:F0} replies/s of any kind");
        o.WriteLine($"window's commands   {PlannedTradesPerSecond:F0} trades/s answered with success (of those planned in the window); in flight {InFlightAtStart} as it opened, {InFlightAtEnd} as it closed");
        o.WriteLine($"commands            {Planned} planned: {Created} CREATE_TRADE ok, {Closed} CLOSE_TRADE ok, {Rejected} rejected, {Errors} errors");
        if (!RejectCodes.IsEmpty) o.WriteLine($"rejects             {string.Join(", ", RejectCodes.OrderByDescending(p => p.Value).Select(p => $"{p.Key} {p.Value}"))}");
        if (!ErrorKinds.IsEmpty) o.WriteLine($"errors              {string.Join(", ", ErrorKinds.OrderByDescending(p => p.Value).Select(p => $"{p.Key} {p.Value}"))}");
        o.WriteLine("latency (ms)             p50       p90       p99     p99.9       max      mean");
        Row(o, "from planned time", Latency);
        Row(o, "from actual send", Service);
        Row(o, "dispatch lag", DispatchLag);
        Row(o, "connection wait", ConnectionWait);
        Row(o, "server (envelope)", ServerLatency);
        var replies = Math.Max(1, WindowReplies);
        o.WriteLine($"generator CPU       {GeneratorCpuMs / Seconds / 10:F0} % of one core, {GeneratorCpuMs * 1000 / replies:F0} us per reply");
        if (ServerCpu is { } cpu)
        {
            var total = cpu.Sum(t => t.CpuMs);
            var threads = string.Join(", ", cpu.Take(8).Select(t => $"{t.Name} {t.CpuMs * 1000 / replies:F0}"));
            o.WriteLine($"server CPU          {total / Seconds / 10:F0} % of one core, {total * 1000 / replies:F0} us per reply; us per reply by thread: {threads}");
            // Per kind of thread: how often it ran per reply, and how long it waited for a CPU each time it became runnable.
            var runs = string.Join(", ", cpu.Where(t => t.Runs >= replies / 100).OrderByDescending(t => t.Runs)
                .Select(t => $"{t.Name} {(double)t.Runs / replies:F2} ({t.WaitMs * 1000 / t.Runs:F0} us)"));
            o.WriteLine($"server wake-ups     thread runs per reply (run-queue wait per run): {runs}");
        }
        if (Machine is { } m) o.WriteLine($"machine             busy {m.Busy:F0} %, idle {m.Idle:F0} %, host steal {m.Steal:F1} % of all cores");
        if (ServerMetrics is var (start, end)) PrintServerMetrics(o, start, end, replies);
        foreach (var line in SchedTrace ?? []) o.WriteLine(line);
    }

    private static readonly string[] GcGenerations = ["gen0", "gen1", "gen2"];

    /// <summary>Where the engine host's time went, and what the disk and the collector did, over the window.</summary>
    private void PrintServerMetrics(TextWriter o, ServerMetrics start, ServerMetrics end, long replies)
    {
        var queue = end.Histogram(start, "exchange_engine_queue_wait_seconds");
        var journal = end.Histogram(start, "exchange_journal_wait_seconds");
        var fsync = end.Histogram(start, "exchange_journal_fsync_duration_seconds");
        if (queue.Count > 0)
            o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"engine host         queue wait mean {queue.MeanMs:F3} ms, {queue.PercentAbove(0.001):F2} % over 1 ms; journal wait mean {journal.MeanMs:F3} ms, {journal.PercentAbove(0.0025):F2} % over 2.5 ms, {journal.PercentAbove(0.005):F2} % over 5 ms"));
        if (fsync.Count > 0)
            o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"journal fsyncs      {fsync.Count:F0} ({fsync.Count / replies:F2} per reply), mean {fsync.MeanMs:F3} ms, {fsync.PercentAbove(0.0025):F2} % over 2.5 ms, {fsync.PercentAbove(0.005):F2} % over 5 ms"));
        var engineCpuMs = end.Since(start, "exchange_engine_thread_cpu_seconds_total") * 1000;
        if (engineCpuMs > 0)
            o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"engine thread       on a CPU {engineCpuMs:F0} ms, runnable but waiting for one {end.Since(start, "exchange_engine_thread_runqueue_wait_seconds_total") * 1000:F0} ms"));
        var pausedMs = end.Since(start, "dotnet_gc_pause_time_seconds_total") * 1000;
        var collections = string.Join(", ", GcGenerations.Select(g =>
            $"{g} {end.Since(start, "dotnet_gc_collections_total", $"gc_heap_generation=\"{g}\""):F0}"));
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"server GC           {collections}; paused {pausedMs:F0} ms ({pausedMs / Seconds / 10:F2} % of the window), {end.Since(start, "dotnet_gc_heap_total_allocated_bytes_total") / replies / 1024:F1} KB allocated per reply"));
    }

    public static string Ms(long micros) => (micros / 1000.0).ToString("F3", CultureInfo.InvariantCulture);

    private static void Row(TextWriter o, string name, LatencyHistogram h) =>
        o.WriteLine($"{name,-18}{Ms(h.PercentileMicros(50)),10}{Ms(h.PercentileMicros(90)),10}{Ms(h.PercentileMicros(99)),10}" +
                    $"{Ms(h.PercentileMicros(99.9)),10}{Ms(h.MaxMicros),10}{Ms((long)h.MeanMicros),10}");
}

/// <summary>
/// One open-loop run: slot k is planned at start + k/rate whatever earlier replies are doing,
/// and latency is measured from that planned time, so a stalled server shows up as latency
/// (coordinated omission is not hidden). Slot k belongs to trader k mod N; a trader closes a
/// trade it knows to be open, otherwise opens one, so the mix stays half and half while
/// replies arrive before the trader's next slot.
/// <para>
/// A dispatcher thread hands each slot, at its time, to whichever keep-alive connection is
/// free (<see cref="RawHttpConnection"/>: prepared request bytes on a plain socket); the
/// connection sends it right there on the dispatcher's thread and reads the reply where the
/// socket completes. When every connection is busy, slots wait in line, and that wait counts.
/// </para>
/// </summary>
public sealed class OpenLoopRun
{
    private static readonly string[] Assets = ["BTC_USDC", "ETH_USDC", "SOL_USDC"];
    private static readonly string[] Directions = ["LONG", "SHORT"];
    private const string EnginePath = "/api/v1/engine";
    private const string CloseBodyStart = "{\"command\":\"CLOSE_TRADE\",\"tradeId\":\"";

    private readonly CancellationTokenSource _abort = new();
    private readonly Uri _server;
    private readonly Trader[] _traders;
    private readonly LoadOptions _options;
    private readonly double _rate;
    private readonly int _dispatchers;
    private readonly byte[][][] _createRequests; // [trader][asset x direction]
    private readonly byte[][] _closeRequests;    // [trader], with a 32-character trade id to fill in at _closeIdOffset[trader]
    private readonly int[] _closeIdOffset;
    private readonly Channel<(long Slot, long Planned, long Queued)> _due = Channel.CreateUnbounded<(long, long, long)>(
        new UnboundedChannelOptions { SingleWriter = false, AllowSynchronousContinuations = true });
    private readonly StepResult _measured;
    private readonly StepResult _warm;

    private long _start;
    private long _nextSlot; // the next slot no dispatcher has taken yet
    private long _measureFrom;
    private long _end;
    private long _inFlight;
    private long _sent;
    private long _completed;
    private readonly ConcurrentQueue<LoggedReply>? _latencyLog;
    private ProcessCpu? _serverAtStart;
    private MachineCpu? _machineAtStart;
    private TimeSpan _generatorAtStart;

    public OpenLoopRun(Uri server, Trader[] traders, LoadOptions options, double rate)
    {
        _server = server;
        _traders = traders;
        _options = options;
        _rate = rate;
        var margin = options.Margin.ToString(CultureInfo.InvariantCulture);
        var createBodies = Assets.SelectMany(a => Directions.Select(d => Encoding.UTF8.GetBytes(
            $$"""{"command":"CREATE_TRADE","asset":"{{a}}","direction":"{{d}}","margin":{{margin}},"leverage":{{options.Leverage}}}"""))).ToArray();
        var closeBody = Encoding.UTF8.GetBytes(CloseBodyStart + new string('0', 32) + "\"}");
        _createRequests = [.. traders.Select(t => createBodies.Select(b => RawHttpConnection.Post(server, EnginePath, "Bearer " + t.Token, b)).ToArray())];
        _closeRequests = [.. traders.Select(t => RawHttpConnection.Post(server, EnginePath, "Bearer " + t.Token, closeBody))];
        _closeIdOffset = [.. _closeRequests.Select(r => r.Length - 2 - 32)];
        _dispatchers = options.DispatchersFor(rate);
        _measured = new StepResult { PlannedRate = rate, Seconds = options.Seconds, Dispatchers = _dispatchers };
        _warm = new StepResult { PlannedRate = rate, Seconds = Math.Max(options.Warmup, 1e-9), Dispatchers = _dispatchers };
        if (options.LatencyLog is not null || options.SchedTrace > 0) _latencyLog = new();
    }

    public async Task<StepResult> RunAsync()
    {
        var connections = await Task.WhenAll(Enumerable.Range(0, _options.Connections)
            .Select(_ => RawHttpConnection.OpenAsync(_server, _abort.Token)));
        var ticks = Stopwatch.Frequency;
        _start = Stopwatch.GetTimestamp() + ticks / 10;
        _measureFrom = _start + (long)(_options.Warmup * ticks);
        _end = _measureFrom + (long)(_options.Seconds * ticks);
        var serving = connections.Select(ServeAsync).ToArray();

        // Dedicated threads keep the schedule; they also write each request (see the class comment).
        var dispatching = Enumerable.Range(0, _dispatchers).Select(cpu =>
        {
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            new Thread(() =>
            {
                try
                {
                    if (_dispatchers > 1) CpuAffinity.PinThisThread(cpu);
                    Dispatch();
                    done.SetResult();
                }
                catch (Exception e)
                {
                    done.SetException(e);
                }
            })
            { IsBackground = true, Name = "dispatcher", Priority = ThreadPriority.AboveNormal }.Start();
            return done.Task;
        }).ToArray();
        var dispatched = Task.WhenAll(dispatching).ContinueWith(t =>
        {
            _due.Writer.TryComplete();
            return t;
        }, TaskScheduler.Default).Unwrap();

        using var progress = new CancellationTokenSource();
        var reporter = ReportProgressAsync(progress.Token);
        var window = SampleCpuAsync();
        await dispatched;
        var trace = await window;
        // Slow replies still count: wait for every outstanding one (or its timeout).
        var drained = Task.WhenAll(serving);
        await Task.WhenAny(drained, Task.Delay(TimeSpan.FromSeconds(_options.TimeoutSeconds + 2)));
        var unanswered = Interlocked.Read(ref _inFlight);
        await _abort.CancelAsync();
        await drained;
        // Slots still in line for a connection were never sent: errors, and their wait so far is latency.
        var now = Stopwatch.GetTimestamp();
        while (_due.Reader.TryRead(out var never))
        {
            var stats = never.Planned >= _measureFrom ? _measured : _warm;
            Interlocked.Increment(ref stats.Errors);
            stats.Latency.RecordTicks(now - never.Planned);
        }
        await progress.CancelAsync();
        await reporter;
        _abort.Dispose();
        if (unanswered > 0) _measured.ErrorKinds[$"no reply {_options.TimeoutSeconds:F0} s after the schedule ended (cancelled)"] = unanswered;
        if (_options.LatencyLog is not null) await WriteLatencyLogAsync(_options.LatencyLog, _latencyLog!);
        if (trace is not null)
        {
            HashSet<int> ours = [Environment.ProcessId, .. _options.ServerPid is { } pid ? [pid] : Array.Empty<int>()];
            _measured.SchedTrace = await trace.ReportAsync([.. _latencyLog!.Select(r => (r.ArrivedTicks, r.Latency))], ours);
        }
        return _measured;
    }

    /// <summary>One measured reply: when it arrived (UTC and Stopwatch ticks), its latency from the planned time, the envelope's latency, and how late it was sent.</summary>
    private readonly record struct LoggedReply(DateTime ArrivedUtc, long ArrivedTicks, TimeSpan Latency, double? ServerMs, TimeSpan SentLate);

    /// <summary>
    /// Writes "arrival (UTC, µs) latency-ms server-ms sent-late-ms arrival-monotonic-s" per measured reply, in
    /// arrival order: lines up the slow replies with what else happened at that moment (GC pauses, fsyncs, steal,
    /// and on the monotonic clock `perf` traces).
    /// </summary>
    private static async Task WriteLatencyLogAsync(string path, ConcurrentQueue<LoggedReply> replies)
    {
        await using var writer = new StreamWriter(path);
        foreach (var r in replies.OrderBy(r => r.ArrivedUtc))
        {
            await writer.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{r.ArrivedUtc:HH:mm:ss.ffffff} {r.Latency.TotalMilliseconds:F3} {(r.ServerMs is { } ms ? ms.ToString("F3", CultureInfo.InvariantCulture) : "-")} {r.SentLate.TotalMilliseconds:F3} {(double)r.ArrivedTicks / Stopwatch.Frequency:F6}"));
        }
    }

    /// <summary>CPU of both processes over exactly the measured window; with --sched-trace, the trace started at its beginning.</summary>
    private async Task<SchedTrace?> SampleCpuAsync()
    {
        var self = System.Diagnostics.Process.GetCurrentProcess();
        await Task.Delay(Until(_measureFrom));
        self.Refresh();
        _measured.InFlightAtStart = Interlocked.Read(ref _inFlight);
        _generatorAtStart = self.TotalProcessorTime;
        _serverAtStart = _options.ServerPid is { } pid ? ProcessCpu.Snapshot(pid) : null;
        _machineAtStart = MachineCpu.Snapshot();
        var trace = _options.SchedTrace > 0 ? LoadTest.SchedTrace.Start(Math.Min(_options.SchedTrace, _options.Seconds)) : null;
        var metricsAtStart = await ServerMetrics.ScrapeAsync(_server);
        await Task.Delay(Until(_end)); // the scrape above may have taken the whole of a short window
        _measured.InFlightAtEnd = Interlocked.Read(ref _inFlight);
        self.Refresh();
        _measured.GeneratorCpuMs = (self.TotalProcessorTime - _generatorAtStart).TotalMilliseconds;
        if (_serverAtStart is not null && ProcessCpu.Snapshot(_options.ServerPid!.Value) is { } after)
            _measured.ServerCpu = after.Since(_serverAtStart);
        if (_machineAtStart is not null) _measured.Machine = MachineCpu.Snapshot()?.Since(_machineAtStart);
        if (metricsAtStart is not null && await ServerMetrics.ScrapeAsync(_server) is { } metricsAtEnd)
            _measured.ServerMetrics = (metricsAtStart, metricsAtEnd);
        return trace;
    }

    /// <summary>From now to a Stopwatch timestamp; zero once it has passed.</summary>
    private static TimeSpan Until(long timestamp)
    {
        var left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), timestamp);
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }

    /// <summary>
    /// Sleeps until the next slot's planned time and sends it, unless another dispatcher, awake
    /// first, has taken it: with one pinned to each CPU, a CPU held by something the kernel does
    /// not preempt delays only the dispatcher on it.
    /// </summary>
    private void Dispatch()
    {
        var ticksPerSlot = Stopwatch.Frequency / _rate;
        while (true)
        {
            var k = Volatile.Read(ref _nextSlot);
            var planned = _start + (long)(k * ticksPerSlot);
            if (planned >= _end) return;
            PreciseSleep.Until(planned);
            while (Stopwatch.GetTimestamp() < planned) PreciseSleep.Until(planned);
            if (Interlocked.CompareExchange(ref _nextSlot, k + 1, k) != k) continue;
            var stats = planned >= _measureFrom ? _measured : _warm;
            Interlocked.Increment(ref stats.Planned);
            Interlocked.Increment(ref _sent);
            if (Interlocked.Increment(ref _inFlight) > _options.MaxInFlight)
            {
                Interlocked.Decrement(ref _inFlight);
                Count(stats.ErrorKinds, "not sent: --max-inflight reached");
                Interlocked.Increment(ref stats.Errors);
                continue;
            }
            // A connection waiting for work takes the slot and sends it on this thread.
            var queued = Stopwatch.GetTimestamp();
            stats.DispatchLag.RecordTicks(queued - planned);
            _due.Writer.TryWrite((k, planned, queued));
        }
    }

    /// <summary>One connection's life: take the next due slot, send it, read the reply; reconnect after a failure.</summary>
    private async Task ServeAsync(RawHttpConnection connection)
    {
        var send = new byte[1024];
        try
        {
            while (true)
            {
                (long Slot, long Planned, long Queued) due;
                try
                {
                    due = await _due.Reader.ReadAsync(_abort.Token);
                }
                catch (ChannelClosedException)
                {
                    return;
                }
                if (!await SendAsync(connection, due.Slot, due.Planned, due.Queued, send))
                {
                    await connection.DisposeAsync();
                    connection = await RawHttpConnection.OpenAsync(_server, _abort.Token);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The run ended with this connection still waiting.
        }
        finally
        {
            await connection.DisposeAsync();
        }
    }

    /// <summary>Sends one slot's command and records its reply; false when the connection can no longer be used.</summary>
    private async Task<bool> SendAsync(RawHttpConnection connection, long slot, long planned, long queued, byte[] send)
    {
        var stats = planned >= _measureFrom ? _measured : _warm;
        var index = (int)(slot % _traders.Length);
        var trader = _traders[index];
        var closing = trader.TakeOpenTrade();
        ReadOnlyMemory<byte> request;
        if (closing is null)
        {
            request = _createRequests[index][slot % _createRequests[index].Length];
        }
        else
        {
            var template = _closeRequests[index];
            template.CopyTo(send, 0);
            Encoding.ASCII.GetBytes(closing, send.AsSpan(_closeIdOffset[index], 32));
            request = send.AsMemory(0, template.Length);
        }
        try
        {
            var sent = Stopwatch.GetTimestamp();
            stats.ConnectionWait.RecordTicks(sent - queued);
            var (status, reply) = await connection.SendAsync(request, _abort.Token);
            var done = Stopwatch.GetTimestamp();
            stats.Latency.RecordTicks(done - planned);
            stats.Service.RecordTicks(done - sent);
            if (_latencyLog is not null && stats == _measured)
                _latencyLog.Enqueue(new LoggedReply(DateTime.UtcNow, done, Stopwatch.GetElapsedTime(planned, done), ServerMs(reply.Span),
                    Stopwatch.GetElapsedTime(planned, sent)));
            InWindow(done, out var inWindow);
            if (status is >= 200 and < 300)
            {
                if (closing is null)
                {
                    var id = StringAfter(reply.Span, "\"tradeId\":\""u8);
                    if (id is not null) trader.AddOpenTrade(id);
                    Interlocked.Increment(ref stats.Created);
                }
                else
                {
                    Interlocked.Increment(ref stats.Closed);
                }
                if (inWindow) Interlocked.Increment(ref _measured.WindowTrades);
                if (ServerMs(reply.Span) is { } serverMs) stats.ServerLatency.Record((long)(serverMs * 1000));
            }
            else if (status is >= 400 and < 500)
            {
                Interlocked.Increment(ref stats.Rejected);
                Count(stats.RejectCodes, $"{(closing is null ? "CREATE" : "CLOSE")} {status} {StringAfter(reply.Span, "\"code\":\""u8) ?? "?"}");
            }
            else
            {
                Interlocked.Increment(ref stats.Errors);
                Count(stats.ErrorKinds, $"HTTP {status}");
            }
            return true;
        }
        catch (Exception e)
        {
            if (closing is not null) trader.AddOpenTrade(closing); // it may still be open
            Interlocked.Increment(ref stats.Errors);
            var failed = Stopwatch.GetTimestamp();
            InWindow(failed, out _);
            if (e is OperationCanceledException)
            {
                // No reply by the end: at least this long, and left out of the tail it would be flattering.
                stats.Latency.RecordTicks(failed - planned);
                throw;
            }
            Count(stats.ErrorKinds, e.GetType().Name + ": " + e.Message);
            return false;
        }
        finally
        {
            Interlocked.Increment(ref _completed);
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private void InWindow(long done, out bool inWindow)
    {
        inWindow = done >= _measureFrom && done < _end;
        if (inWindow) Interlocked.Increment(ref _measured.WindowReplies);
    }

    private async Task ReportProgressAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(5));
        long lastCompleted = 0;
        var started = Stopwatch.GetTimestamp();
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                var completed = Interlocked.Read(ref _completed);
                Console.Error.WriteLine(
                    $"  t={Stopwatch.GetElapsedTime(started).TotalSeconds,5:F0}s sent={Interlocked.Read(ref _sent)} replies/s={(completed - lastCompleted) / 5.0:F0} in-flight={Interlocked.Read(ref _inFlight)}");
                lastCompleted = completed;
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static void Count(ConcurrentDictionary<string, long> counts, string key) => counts.AddOrUpdate(key, 1, (_, n) => n + 1);

    /// <summary>The JSON string value after <paramref name="prefix"/> (no escapes expected in ids and codes).</summary>
    private static string? StringAfter(ReadOnlySpan<byte> json, ReadOnlySpan<byte> prefix)
    {
        var at = json.IndexOf(prefix);
        if (at < 0) return null;
        var rest = json[(at + prefix.Length)..];
        var end = rest.IndexOf((byte)'"');
        return end < 0 ? null : Encoding.UTF8.GetString(rest[..end]);
    }

    private static double? ServerMs(ReadOnlySpan<byte> json)
    {
        var at = json.LastIndexOf("\"latency\":"u8);
        if (at < 0) return null;
        return Utf8Parser.TryParse(json[(at + 10)..], out double ms, out _) ? ms : null;
    }
}
