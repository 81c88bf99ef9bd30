namespace Exchange.Journal.Tests;

public class ShortTimeSliceTests
{
    [Fact]
    public void A_thread_that_asks_gets_a_0_1_ms_slice_on_Linux()
    {
        if (!OperatingSystem.IsLinux()) return;
        bool granted = false;
        string? sched = null;
        var thread = new Thread(() =>
        {
            granted = ShortTimeSlice.Request();
            sched = File.ReadAllText("/proc/thread-self/sched");
        });
        thread.Start();
        thread.Join();

        Assert.True(granted);
        // Kernels before EEVDF (6.6) have no per-thread slice to show; the call still succeeds there.
        var slice = sched!.Split('\n').FirstOrDefault(line => line.StartsWith("se.slice", StringComparison.Ordinal));
        if (slice is not null) Assert.Equal("100000", slice.Split(':')[1].Trim());
    }

    [Fact]
    public void The_engine_and_journal_threads_run_with_the_short_slice()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var directory = new TempJournalDirectory();
        using var host = EngineHost.Start(new EngineHostOptions { DataDirectory = directory.Path, Journal = TempJournalDirectory.NoFsync() });

        // Threads of other tests come and go meanwhile: one that has ended is skipped.
        var slices = Directory.GetDirectories("/proc/self/task")
            .Select(task => (Name: ReadOrNull(Path.Combine(task, "comm"))?.Trim(), Sched: ReadOrNull(Path.Combine(task, "sched"))))
            .Where(t => t.Name is "engine" or "journal-writer" && t.Sched is not null)
            .ToList();

        // Other tests' hosts may run at the same time: at least this one's two threads, all with the slice.
        Assert.Contains(slices, t => t.Name == "engine");
        Assert.Contains(slices, t => t.Name == "journal-writer");
        foreach (var (_, sched) in slices)
        {
            var slice = sched!.Split('\n').FirstOrDefault(line => line.StartsWith("se.slice", StringComparison.Ordinal));
            if (slice is not null) Assert.Equal("100000", slice.Split(':')[1].Trim());
        }
    }

    private static string? ReadOrNull(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException) // the thread ended between listing and reading (ENOENT or ESRCH)
        {
            return null;
        }
    }
}
