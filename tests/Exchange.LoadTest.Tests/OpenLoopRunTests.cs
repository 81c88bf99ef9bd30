namespace Exchange.LoadTest.Tests;

/// <summary>
/// The load generator's numbers are what issue goals are judged by: a request it never got an
/// answer to, a wait it blames on the wrong side, or a refusal it lets through must show.
/// </summary>
public sealed class OpenLoopRunTests
{
    private static readonly Trader[] Traders = [new("a@example.com", "token-a"), new("b@example.com", "token-b")];

    private static Task<StepResult> RunAsync(Uri url, double rate, double seconds, int connections, double timeoutSeconds = 10, int dispatchers = 1) =>
        new OpenLoopRun(url, Traders, new LoadOptions
        {
            Url = url,
            Rate = rate,
            Seconds = seconds,
            Warmup = 0,
            Connections = connections,
            Dispatchers = dispatchers,
            TimeoutSeconds = timeoutSeconds,
        }, rate).RunAsync();

    [Fact]
    public async Task Requests_never_answered_are_errors_and_stay_in_the_latency_tail()
    {
        // The first 50 are answered at once; after that the server answers nothing.
        await using var server = new StubServer(n => n <= 50 ? (TimeSpan.Zero, 200) : null);

        var result = await RunAsync(server.Url, rate: 200, seconds: 1, connections: 4, timeoutSeconds: 1);

        Assert.Equal(200, result.Planned);
        Assert.Equal(50, result.Created);
        Assert.Equal(150, result.Errors); // the 4 on a socket and the 146 still in line for one
        Assert.Equal(200, result.Latency.Count);
        Assert.True(result.Latency.PercentileMicros(99) >= 1_000_000, $"p99 {result.Latency.PercentileMicros(99)} us");
        Assert.Equal("errors", result.Verdict(maxP99Ms: 5));
    }

    [Fact]
    public async Task Waiting_for_a_free_connection_is_told_apart_from_the_generators_own_lateness()
    {
        // One connection and replies that take 40 ms: at 50 requests/s each waits ever longer for the connection.
        await using var server = new StubServer(_ => (TimeSpan.FromMilliseconds(40), 200));

        var result = await RunAsync(server.Url, rate: 50, seconds: 1, connections: 1);

        Assert.Equal(50, result.Created);
        Assert.True(result.ConnectionWait.PercentileMicros(90) > 200_000, $"connection wait p90 {result.ConnectionWait.PercentileMicros(90)} us");
        Assert.True(result.DispatchLag.PercentileMicros(50) < 20_000, $"dispatch lag p50 {result.DispatchLag.PercentileMicros(50)} us");
    }

    [Fact]
    public async Task A_run_with_refusals_is_not_ok_however_fast_they_came()
    {
        await using var server = new StubServer(n => (TimeSpan.Zero, n % 10 == 0 ? 404 : 200));

        var result = await RunAsync(server.Url, rate: 100, seconds: 1, connections: 2);

        Assert.Equal(10, result.Rejected);
        Assert.Equal(0, result.Errors);
        Assert.Equal("rejects", result.Verdict(maxP99Ms: 1_000));
    }

    [Fact]
    public async Task With_two_dispatchers_every_slot_is_sent_once()
    {
        long seen = 0;
        await using var server = new StubServer(_ =>
        {
            Interlocked.Increment(ref seen);
            return (TimeSpan.Zero, 200);
        });

        var result = await RunAsync(server.Url, rate: 1_000, seconds: 1, connections: 8, dispatchers: 2);

        Assert.Equal(1_000, result.Planned);
        Assert.Equal(1_000, result.Created + result.Closed);
        Assert.Equal(0, result.Errors);
        Assert.Equal(1_000, Interlocked.Read(ref seen));
        Assert.Equal(1_000, result.DispatchLag.Count);
    }
}
