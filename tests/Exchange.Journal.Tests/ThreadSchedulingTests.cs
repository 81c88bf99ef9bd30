using Exchange.TestSupport;

namespace Exchange.Journal.Tests;

public class ThreadSchedulingTests
{
    [Fact]
    public void A_thread_that_asks_gets_a_0_1_ms_slice_on_Linux()
    {
        if (!OperatingSystem.IsLinux()) return;
        var (granted, sched) = OnNewThread(ThreadScheduling.RequestShortSlice, "/proc/thread-self/sched");

        Assert.True(granted);
        // Kernels before EEVDF (6.6) have no per-thread slice to show; the call still succeeds there.
        var slice = Slice(sched);
        if (slice is not null) Assert.Equal("100000", slice);
    }

    [Fact]
    public void A_thread_run_in_background_has_nice_10_and_the_others_keep_theirs()
    {
        if (!OperatingSystem.IsLinux()) return;
        var (lowered, stat) = OnNewThread(ThreadScheduling.RunInBackground, "/proc/thread-self/stat");

        Assert.True(lowered);
        Assert.Equal(10, ProcThreads.Nice(stat));
        Assert.Equal(0, ProcThreads.Nice(File.ReadAllText("/proc/thread-self/stat")));
    }

    [Fact]
    public void The_engine_thread_which_also_commits_the_journal_runs_with_the_short_slice()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var directory = new TempJournalDirectory();
        using var host = EngineHost.Start(new EngineHostOptions { DataDirectory = directory.Path, Journal = TempJournalDirectory.NoFsync() });

        // The thread asks as it starts, a moment after Start returns; other tests' hosts may be
        // starting too: at least this one's, and in the end all of them, with the slice.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (host.EngineThreadTimes is null && DateTime.UtcNow < deadline) Thread.Sleep(1);
        var threads = ProcThreads.Named(["engine"], "sched");
        while (!threads.All(t => Slice(t.Content) is null or "100000") && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(10);
            threads = ProcThreads.Named(["engine"], "sched");
        }

        Assert.Contains(threads, t => t.Name == "engine");
        foreach (var (_, sched) in threads)
        {
            var slice = Slice(sched);
            if (slice is not null) Assert.Equal("100000", slice);
        }
    }

    private static (bool Result, string Proc) OnNewThread(Func<bool> call, string procFile)
    {
        bool result = false;
        string proc = "";
        var thread = new Thread(() =>
        {
            result = call();
            proc = File.ReadAllText(procFile);
        });
        thread.Start();
        thread.Join();
        return (result, proc);
    }

    private static string? Slice(string sched) =>
        sched.Split('\n').FirstOrDefault(line => line.StartsWith("se.slice", StringComparison.Ordinal))?.Split(':')[1].Trim();
}
