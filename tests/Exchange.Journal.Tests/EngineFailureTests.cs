using Exchange.Engine;

namespace Exchange.Journal.Tests;

/// <summary>
/// Nothing a caller submits can stop the engine thread, and when something else does (a failing
/// listener stands in for a failing disk) every caller hears so: none waits for ever.
/// </summary>
public sealed class EngineFailureTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("exchange-failure-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private EngineHostOptions Options => new()
    {
        DataDirectory = _dir,
        SnapshotIntervalMs = 0,
        Journal = JournalOptions.Default with { FsyncEnabled = false },
    };

    [Theory]
    [InlineData(255, "A")]
    [InlineData(128, "é")]
    public async Task A_symbol_the_journal_cannot_hold_is_refused_on_the_callers_thread_and_trading_goes_on(int repeat, string letter)
    {
        using var host = EngineHost.Start(Options);
        await CreateAccount(host);
        var input = new EngineInput
        {
            Kind = InputKind.CreateTrade, User = new UserId(Guid.NewGuid()), Symbol = string.Concat(Enumerable.Repeat(letter, repeat)),
            Direction = Direction.Long, Margin = 100, Leverage = 10,
        };

        Assert.Throws<ArgumentException>(() => { _ = host.SubmitAsync(input); }); // thrown, not a faulted task

        Assert.True((await CreateAccount(host)).Accepted);
        Assert.Null(host.Fault);
        Assert.Equal(2, host.AppendedSequence); // no sequence was spent on the refused input
    }

    [Fact]
    public async Task When_the_engine_thread_fails_the_waiting_command_and_every_later_one_are_told_why()
    {
        var failure = new IOException("disk on fire");
        using var host = EngineHost.Start(Options, listener: new FailingListener(failAt: 1, failure));

        var waiting = await Assert.ThrowsAsync<EngineStoppedException>(() => CreateAccount(host).WaitAsync(TimeSpan.FromSeconds(10)));

        Assert.Same(failure, waiting.InnerException);
        Assert.Same(failure, host.Fault);
        var later = Assert.Throws<EngineStoppedException>(() => { _ = CreateAccount(host); });
        Assert.Contains("disk on fire", later.Message);
        Assert.Throws<EngineStoppedException>(() => { _ = host.ReadAsync(e => e.AccountCount); });
    }

    [Fact]
    public async Task Callers_racing_a_failing_engine_thread_all_get_an_answer()
    {
        using var host = EngineHost.Start(Options, listener: new FailingListener(failAt: 300, new IOException("disk on fire")));
        var answered = 0;
        var refused = 0;

        var callers = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < 400; i++)
            {
                try
                {
                    await (i % 10 == 0 ? (Task)host.ReadAsync(e => e.AccountCount) : CreateAccount(host));
                    Interlocked.Increment(ref answered);
                }
                catch (EngineStoppedException)
                {
                    Interlocked.Increment(ref refused);
                }
            }
        })).ToArray();

        await Task.WhenAll(callers).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(8 * 400, answered + refused);
        Assert.True(refused > 0);
        Assert.NotNull(host.Fault);
    }

    [Fact]
    public async Task A_snapshot_waiting_for_the_listener_when_the_engine_fails_is_never_written()
    {
        // The listener records the first account only a second from now; its second delivery fails.
        var listener = new FailingListener(failAt: 2, new IOException("disk on fire"))
        {
            RecordedFrom = System.Diagnostics.Stopwatch.GetTimestamp() + System.Diagnostics.Stopwatch.Frequency,
        };
        var host = EngineHost.Start(Options, listener: listener);
        await CreateAccount(host);
        var snapshot = host.SnapshotNowAsync(); // waits for the listener
        await Assert.ThrowsAsync<EngineStoppedException>(() => CreateAccount(host).WaitAsync(TimeSpan.FromSeconds(10)));

        host.Dispose(); // lets go of the journal's lock: another process may take the folder now
        await Task.Delay(1_500); // past the listener's catching up

        Assert.Empty(Directory.GetFiles(Path.Combine(_dir, "snapshots"), "*.snap"));
        Assert.True(snapshot.IsCompleted);
    }

    private static Task<CommandReply> CreateAccount(EngineHost host) =>
        host.SubmitAsync(new EngineInput { Kind = InputKind.CreateAccount, User = new UserId(Guid.NewGuid()) });

    /// <summary>Throws on its <paramref name="failAt"/>th live delivery, on the engine thread.</summary>
    private sealed class FailingListener(int failAt, Exception failure) : IEngineEventListener
    {
        private int _deliveries;

        /// <summary>The Stopwatch time from which it has recorded every event (before it, none).</summary>
        public long RecordedFrom { get; init; }

        public long RecordedEventSequence => System.Diagnostics.Stopwatch.GetTimestamp() >= RecordedFrom ? long.MaxValue : 0;

        public void OnEvents(IReadOnlyList<object> events, bool replayed)
        {
            if (!replayed && ++_deliveries == failAt) throw failure;
        }
    }
}
