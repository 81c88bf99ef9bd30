using System.Diagnostics;
using System.Globalization;
using System.Net;
using Exchange.LoadTest;

// dotnet run -c Release --project bench/LoadTest -- --url http://127.0.0.1:3300 --traders 200 --rate 2000 --seconds 30 --warmup 5 --connections 64
// dotnet run -c Release --project bench/LoadTest -- --find-max --rate 4000 --max-p99-ms 50
// dotnet run -c Release --project bench/LoadTest -- fanout --clients 1000 --seconds 30 --url ws://127.0.0.1:3300/api/v1/stream (FanoutRun.cs)
// dotnet run -c Release --project bench/LoadTest -- jitter [--seconds 10] (WakeupJitter.cs)
// dotnet run -c Release --project bench/LoadTest -- disk --dir DIR [--rate 2000] [--seconds 10] (DiskFlush.cs)
if (args is ["fanout", ..]) return await FanoutRun.RunAsync(args[1..]);
if (args is ["jitter", ..]) return WakeupJitter.Run(args[1..]);
if (args is ["disk", ..]) return DiskFlush.Run(args[1..]);

// Reply continuations run on the socket engine's thread instead of being queued to the thread
// pool: one hop fewer per request for a generator that shares two cores with the server it
// measures. Read once, when the first socket operation starts the engine.
Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");

LoadOptions options;
try
{
    options = LoadOptions.Parse(args);
}
catch (Exception e) when (e is ArgumentException or FormatException or UriFormatException)
{
    Console.Error.WriteLine($"loadtest: {e.Message}");
    Console.Error.WriteLine(LoadOptions.Usage);
    return 2;
}

// Make room for slot hand-offs and reply continuations without waiting for thread injection.
ThreadPool.GetMinThreads(out var workers, out var io);
ThreadPool.SetMinThreads(Math.Max(workers, 16), io);

using var handler = new SocketsHttpHandler
{
    MaxConnectionsPerServer = options.Connections,
    PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
    PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
    ConnectTimeout = TimeSpan.FromSeconds(5),
    UseCookies = false, // Bearer tokens only: a shared cookie jar would mix the traders' authToken cookies
    AutomaticDecompression = DecompressionMethods.None,
    UseProxy = false,
};
using var client = new HttpClient(handler, disposeHandler: false)
{
    Timeout = TimeSpan.FromSeconds(options.TimeoutSeconds),
    DefaultRequestVersion = HttpVersion.Version11,
    DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
};

Console.WriteLine($"loadtest {string.Join(' ', args)}");
Console.WriteLine($"machine: {Environment.ProcessorCount} cores, .NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, load average before: {LoadAverage()}");
var setup = Stopwatch.StartNew();
Trader[] traders;
try
{
    traders = await TraderSetup.CreateAsync(client, options.Url, options.Traders, options.SetupConcurrency);
}
catch (Exception e) when (e is InvalidOperationException or HttpRequestException)
{
    Console.Error.WriteLine($"loadtest: {e.Message}");
    return 1;
}
Console.WriteLine($"setup: {traders.Length} traders signed up and funded in {setup.Elapsed.TotalSeconds:F1} s; {options.Connections} connections max");

if (!options.FindMax)
{
    var result = await new OpenLoopRun(options.Url, traders, options, options.Rate).RunAsync();
    Console.WriteLine();
    result.Print(Console.Out);
    return result.Errors > 0 ? 1 : 0;
}

// Step mode: raise the planned rate until a step fails (or lower it until one passes), then
// bisect between the best passing and the lowest failing rate. Every step with the same
// generator: the dispatcher count the first rate gets.
options = options with { Dispatchers = options.DispatchersFor(options.Rate) };
var rows = new List<StepResult>();
double? good = null, bad = null;
var rate = options.Rate;
var refinements = 0;
if (options.Settle > 0)
{
    Console.Error.WriteLine($"settle: {options.Settle:F0} s at {rate:F0} commands/s, not reported");
    await new OpenLoopRun(options.Url, traders, options with { Warmup = 0, Seconds = options.Settle }, rate).RunAsync();
}
while (true)
{
    Console.Error.WriteLine($"step: {rate:F0} commands/s");
    var step = await new OpenLoopRun(options.Url, traders, options, rate).RunAsync();
    rows.Add(step);
    var verdict = step.Verdict(options.MaxP99Ms);
    Console.Error.WriteLine($"  -> {step.TradesPerSecond:F0} trades/s, p99 {StepResult.Ms(step.Latency.PercentileMicros(99))} ms: {verdict}");
    if (verdict == "ok") good = Math.Max(good ?? 0, rate);
    else bad = Math.Min(bad ?? double.MaxValue, rate);
    double next;
    if (bad is null) next = Math.Min(options.MaxRate, Math.Round(rate * options.StepFactor / 100) * 100);
    else if (good is null) next = Math.Round(rate / options.StepFactor / 100) * 100;
    else if (refinements++ < options.Refine) next = Math.Round((good.Value + bad.Value) / 200) * 100;
    else break;
    if (next == rate || next < 100 || (good is not null && next <= good) || (bad is not null && next >= bad)) break;
    rate = next;
}

Console.WriteLine();
Console.WriteLine($"| planned/s | trades/s | rejected | errors | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | verdict (p99 <= {options.MaxP99Ms} ms) |");
Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
foreach (var r in rows)
{
    var h = r.Latency;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| {r.PlannedRate:F0} | {r.TradesPerSecond:F0} | {r.Rejected} | {r.Errors} | {StepResult.Ms(h.PercentileMicros(50))} | {StepResult.Ms(h.PercentileMicros(90))} | {StepResult.Ms(h.PercentileMicros(99))} | {StepResult.Ms(h.PercentileMicros(99.9))} | {StepResult.Ms(h.MaxMicros)} | {r.Verdict(options.MaxP99Ms)} |"));
}
Console.WriteLine();
Console.WriteLine(good is null
    ? $"no step passed (the first, {options.Rate:F0}/s, failed)"
    : $"max sustainable: {good:F0} commands/s planned (p99 <= {options.MaxP99Ms} ms, achieved >= 95 %, no errors)");
Console.WriteLine();
Console.WriteLine("details of the best passing step:");
(rows.Where(r => r.Verdict(options.MaxP99Ms) == "ok").MaxBy(r => r.PlannedRate) ?? rows[^1]).Print(Console.Out);
return 0;

static string LoadAverage()
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
