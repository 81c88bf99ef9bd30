using System.Globalization;

namespace Exchange.LoadTest;

/// <summary>What a group of same-named threads did over a window.</summary>
/// <param name="CpuMs">Time on a CPU.</param>
/// <param name="WaitMs">Time runnable but waiting for a CPU (the guest's run queue; not the host's steal).</param>
/// <param name="Runs">Times a thread was put on a CPU: each wake-up is one, so fewer per reply means fewer hand-offs.</param>
public readonly record struct ThreadUse(string Name, double CpuMs, double WaitMs, long Runs);

/// <summary>
/// Scheduler accounts of a process per thread name, from /proc/PID/task/*/schedstat (Linux
/// only): shows where the server's cycles go (Kestrel/thread-pool workers, the engine thread,
/// the journal writer, the recorder) and how often each kind of thread had to be woken,
/// without attaching a profiler.
/// </summary>
public sealed class ProcessCpu
{
    private readonly Dictionary<int, (string Name, long CpuNs, long WaitNs, long Runs)> _threads;

    /// <summary>The whole process's CPU (/proc/PID/stat), which keeps what threads that have exited used.</summary>
    private readonly double _processMs;

    private ProcessCpu(Dictionary<int, (string, long, long, long)> threads, double processMs)
    {
        _threads = threads;
        _processMs = processMs;
    }

    public static ProcessCpu? Snapshot(int pid)
    {
        var dir = $"/proc/{pid}/task";
        if (!Directory.Exists(dir)) return null;
        var threads = new Dictionary<int, (string, long, long, long)>();
        foreach (var task in Directory.EnumerateDirectories(dir))
        {
            try
            {
                var name = File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n');
                // "ns on cpu, ns waiting on a run queue, times run"
                var f = File.ReadAllText(Path.Combine(task, "schedstat")).Split(' ');
                threads[int.Parse(Path.GetFileName(task), CultureInfo.InvariantCulture)] = (name,
                    long.Parse(f[0], CultureInfo.InvariantCulture), long.Parse(f[1], CultureInfo.InvariantCulture),
                    long.Parse(f[2], CultureInfo.InvariantCulture));
            }
            catch (IOException)
            {
                // The thread ended between listing and reading.
            }
        }
        return new ProcessCpu(threads, ProcessMs(pid));
    }

    /// <summary>utime + stime of /proc/PID/stat (fields 14 and 15, in clock ticks of 10 ms), in ms; 0 when unreadable.</summary>
    private static double ProcessMs(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var f = stat[(stat.LastIndexOf(')') + 2)..].Split(' '); // after "pid (comm) ", field 3 is f[0]
            return (long.Parse(f[11], CultureInfo.InvariantCulture) + long.Parse(f[12], CultureInfo.InvariantCulture)) * 10.0;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>Use since <paramref name="before"/>, per thread name (numbered thread-pool names merged), most CPU first.</summary>
    public IReadOnlyList<ThreadUse> Since(ProcessCpu before)
    {
        var byName = new Dictionary<string, ThreadUse>();
        foreach (var (tid, now) in _threads)
        {
            var earlier = before._threads.TryGetValue(tid, out var b) ? b : default;
            var key = now.Name.TrimEnd('0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ' ', '#');
            var sum = byName.GetValueOrDefault(key, new ThreadUse(key, 0, 0, 0));
            byName[key] = sum with
            {
                CpuMs = sum.CpuMs + (now.CpuNs - earlier.CpuNs) / 1e6,
                WaitMs = sum.WaitMs + (now.WaitNs - earlier.WaitNs) / 1e6,
                Runs = sum.Runs + now.Runs - earlier.Runs,
            };
        }
        // A thread that ran in the window and exited before its end (an idle pool thread retires
        // after ~20 s) is not listed at the end; the process's own account still has its time.
        // Below 50 ms the two clocks' resolution (10 ms ticks against ns) is all the difference.
        var listed = byName.Values.Sum(t => t.CpuMs);
        var exited = _processMs - before._processMs - listed;
        if (before._processMs > 0 && exited > 50) byName["(exited threads)"] = new ThreadUse("(exited threads)", exited, 0, 1);
        return [.. byName.Values.Where(t => t.Runs > 0).OrderByDescending(t => t.CpuMs)];
    }
}

/// <summary>
/// The machine's CPU time split from /proc/stat: steal is time the host ran something else
/// while this VM had work, which no program in the VM can win back.
/// </summary>
public sealed class MachineCpu
{
    private readonly long[] _jiffies;

    private MachineCpu(long[] jiffies) => _jiffies = jiffies;

    public static MachineCpu? Snapshot()
    {
        if (!File.Exists("/proc/stat")) return null;
        // "cpu  user nice system idle iowait irq softirq steal ..."
        var f = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return new MachineCpu([.. f.Skip(1).Take(8).Select(v => long.Parse(v, CultureInfo.InvariantCulture))]);
    }

    /// <summary>Busy, idle and steal as percentages of all CPU time since <paramref name="before"/>.</summary>
    public (double Busy, double Idle, double Steal) Since(MachineCpu before)
    {
        var d = _jiffies.Select((v, i) => v - before._jiffies[i]).ToArray();
        double total = Math.Max(1, d.Sum());
        var idle = d[3] + d[4];
        return (100 * (total - idle - d[7]) / total, 100 * idle / total, 100 * d[7] / total);
    }
}
