using Exchange.TestSupport;

namespace Exchange.Data.Tests;

/// <summary>
/// The recorder's threads by name, as the kernel sees them. Alone, with no other test running: a
/// recorder another test has just started (or started while its database was away) has not lowered
/// its writer's priority yet, and its threads carry the same names.
/// </summary>
[Collection(nameof(RecorderThreadPriorityTests))]
public sealed class RecorderThreadPriorityTests : IAsyncLifetime
{
    private TestDatabase _test = null!;

    public async Task InitializeAsync() => _test = await TestDatabase.CreateAsync();

    public async Task DisposeAsync() => await _test.DisposeAsync();

    [Fact]
    public async Task With_SQLite_the_recorder_writes_in_the_background_and_catches_up_at_normal_priority()
    {
        if (!OperatingSystem.IsLinux()) return;
        var recorder = await _test.StartRecorderAsync();
        recorder.OnEvents(EngineScript.TwoTraders().Events, replayed: false);
        await recorder.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30));

        var threads = ProcThreads.Named(["event-recorder", "recorder-behind"], "stat");
        Assert.Contains(threads, t => t.Name == "event-recorder");
        Assert.Contains(threads, t => t.Name == "recorder-behind");
        Assert.All(threads, t => Assert.Equal(t.Name == "event-recorder" ? 10 : 0, ProcThreads.Nice(t.Content)));
    }
}

[CollectionDefinition(nameof(RecorderThreadPriorityTests), DisableParallelization = true)]
public sealed class RecorderThreadPriorityCollection;
