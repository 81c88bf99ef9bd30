using Microsoft.EntityFrameworkCore;

namespace Exchange.Data.Tests;

/// <summary>
/// The recorder lets a batch gather before it writes (fewer, larger transactions), but never
/// keeps anyone waiting for it: a flush, a wait for an event and shutdown all write at once.
/// </summary>
public sealed class EventRecorderLingerTests : IAsyncLifetime
{
    private static readonly EventRecorderOptions LongLinger = new() { Linger = TimeSpan.FromMinutes(10) };
    private static readonly TimeSpan Soon = TimeSpan.FromSeconds(10);

    private TestDatabase _test = null!;

    public async Task InitializeAsync() => _test = await TestDatabase.CreateAsync();

    public async Task DisposeAsync() => await _test.DisposeAsync();

    [Fact]
    public async Task Events_nobody_waits_for_gather_until_the_linger_ends()
    {
        var script = EngineScript.TwoTraders();
        var recorder = await _test.StartRecorderAsync(LongLinger);
        recorder.OnEvents(script.Events, replayed: false);

        await Task.Delay(300);

        Assert.Equal(0, recorder.RecordedEventSequence);
        await using var db = _test.Context();
        Assert.Equal(0, await db.Trades.CountAsync());
    }

    [Fact]
    public async Task Waiting_for_an_event_writes_at_once()
    {
        var script = EngineScript.TwoTraders();
        var recorder = await _test.StartRecorderAsync(LongLinger);
        recorder.OnEvents(script.Events, replayed: false);

        await recorder.WhenRecordedAsync(EngineScript.LastSequence(script.Events)).WaitAsync(Soon);

        Assert.Equal(EngineScript.LastSequence(script.Events), recorder.RecordedEventSequence);
    }

    [Fact]
    public async Task A_caller_that_stops_waiting_for_an_event_leaves_no_waiter_behind()
    {
        var recorder = await _test.StartRecorderAsync(LongLinger);

        // Event 1,000 never comes (as while the database is away): each reader gives up.
        for (var i = 0; i < 3; i++)
            Assert.False(await recorder.TryWhenRecordedAsync(1_000, TimeSpan.FromMilliseconds(20)));
        using var cancel = new CancellationTokenSource();
        var waiting = recorder.WhenRecordedAsync(1_000, cancel.Token);
        Assert.Equal(1, recorder.Waiters);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        Assert.Equal(0, recorder.Waiters);
    }

    [Fact]
    public async Task Waiting_for_an_event_ends_when_the_recorder_stops()
    {
        var recorder = await _test.StartRecorderAsync(LongLinger);
        var waiting = recorder.WhenRecordedAsync(1_000); // never comes

        await recorder.StopAsync(CancellationToken.None);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(Soon));
        Assert.False(await recorder.TryWhenRecordedAsync(1_000, TimeSpan.FromMinutes(1)).WaitAsync(Soon)); // at once, not in a minute
        Assert.Equal(0, recorder.Waiters);
    }

    [Fact]
    public async Task A_flush_writes_at_once()
    {
        var script = EngineScript.TwoTraders();
        var recorder = await _test.StartRecorderAsync(LongLinger);
        recorder.OnEvents(script.Events, replayed: false);

        await recorder.FlushAsync().WaitAsync(Soon);

        await using var db = _test.Context();
        Assert.Equal(2, await db.Trades.CountAsync());
    }

    [Fact]
    public async Task Stopping_writes_what_is_queued_at_once()
    {
        var script = EngineScript.TwoTraders();
        var recorder = await _test.StartRecorderAsync(LongLinger);
        recorder.OnEvents(script.Events, replayed: false);

        await _test.StopAsync(recorder).WaitAsync(Soon);

        await using var db = _test.Context();
        Assert.Equal(2, await db.Trades.CountAsync());
    }
}
