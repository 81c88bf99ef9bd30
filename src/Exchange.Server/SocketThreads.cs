namespace Exchange.Server;

/// <summary>
/// Order entry runs on the thread that reads the socket. By default a command is handed from the
/// socket's event thread to the pool for Kestrel's read loop, again for the application and
/// again for the send. On two cores each hand-off is a wake-up that waits behind whatever else
/// runs; with them gone the p99 of a command at 2,000/s fell from 6.0–8.0 to 5.3–6.3 ms in
/// quiet runs (docs/benchmarks.md, seventh pass).
/// <para>
/// That is only safe while nothing slow runs before a request's first real wait, because a
/// socket thread serves every connection. So every request except POST /api/v1/engine
/// (parse, authenticate, enqueue for the engine: microseconds, no locks, no I/O) first moves
/// to the thread pool: password hashing, SQLite reads, static files and everything else run
/// where they always did. The engine's reply resumes on the pool too (its task completes
/// asynchronously), so the engine thread never runs request code.
/// </para>
/// </summary>
internal static class SocketThreads
{
    private const string InlineCompletions = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";
    private const string EventThreads = "DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT";

    /// <summary>Kestrel runs the request pipeline on the thread that completed the read.</summary>
    public static void RunRequestsInline(IWebHostBuilder web) => web.UseSockets(o => o.UnsafePreferInlineScheduling = true);

    /// <summary>
    /// The runtime completes socket reads on its event thread instead of the pool. It applies to
    /// every socket in the process and is read once, on first use, so this runs after the host is
    /// built and before it starts. Not with PostgreSQL: Npgsql's replies would then resume the
    /// recorder's batch work on the event thread. One event thread per core instead of the
    /// runtime's one for up to 30 cores, since request work now runs on them: with one, 10,000
    /// commands/s queued behind it (p99 116–471 ms against 45–63 ms on the pool; 53 ms with two).
    /// An operator's own settings win.
    /// </summary>
    public static void CompleteSocketsInline(ExchangeSettings settings)
    {
        if (settings.DatabaseUrl is not null || Environment.GetEnvironmentVariable(InlineCompletions) is not null) return;
        Environment.SetEnvironmentVariable(InlineCompletions, "1");
        if (Environment.GetEnvironmentVariable(EventThreads) is null)
            Environment.SetEnvironmentVariable(EventThreads, Environment.ProcessorCount.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>Every request but order entry continues on the thread pool before anything else runs.</summary>
    public static IApplicationBuilder UseThreadPoolExceptForOrderEntry(this IApplicationBuilder app) => app.Use(async (http, next) =>
    {
        if (!IsOrderEntry(http.Request)) await Task.Yield();
        await next(http);
    });

    private static bool IsOrderEntry(HttpRequest request) =>
        HttpMethods.IsPost(request.Method) && request.Path.Equals(Api.EngineApi.Route, StringComparison.OrdinalIgnoreCase);
}
