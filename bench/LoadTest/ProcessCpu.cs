using System.Globalization;

namespace Exchange.LoadTest;

/// <summary>
/// CPU time of a process per thread name, from /proc (Linux only): shows where the server's
/// cycles go (Kestrel/thread-pool workers, the engine thread, the journal writer, the
/// recorder) without attaching a profiler. Times are in USER_HZ ticks (10 ms).
/// </summary>
public sealed class ProcessCpu
{
    private const double MsPerTick = 10;
    private readonly Dictionary<int, (string Name, long Ticks)> _threads;

    private ProcessCpu(Dictionary<int, (string, long)> threads) => _threads = threads;

    public static ProcessCpu? Snapshot(int pid)
    {
        var dir = $"/proc/{pid}/task";
        if (!Directory.Exists(dir)) return null;
        var threads = new Dictionary<int, (string, long)>();
        foreach (var task in Directory.EnumerateDirectories(dir))
        {
            try
            {
                var stat = File.ReadAllText(Path.Combine(task, "stat"));
                // "tid (comm) state ppid ..." where comm may hold spaces: split after the last ')'.
                var open = stat.IndexOf('(', StringComparison.Ordinal);
                var close = stat.LastIndexOf(')');
                var fields = stat[(close + 2)..].Split(' ');
                var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
                threads[int.Parse(Path.GetFileName(task), CultureInfo.InvariantCulture)] = (stat[(open + 1)..close], ticks);
            }
            catch (IOException)
            {
                // The thread ended between listing and reading.
            }
        }
        return new ProcessCpu(threads);
    }

    /// <summary>CPU milliseconds spent since <paramref name="before"/>, per thread name (numbered thread-pool names merged).</summary>
    public IReadOnlyList<(string Name, double Ms)> Since(ProcessCpu before)
    {
        var byName = new Dictionary<string, double>();
        foreach (var (tid, (name, ticks)) in _threads)
        {
            var earlier = before._threads.TryGetValue(tid, out var b) ? b.Ticks : 0;
            var key = name.TrimEnd('0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ' ', '#');
            byName[key] = byName.GetValueOrDefault(key) + (ticks - earlier) * MsPerTick;
        }
        return [.. byName.Where(p => p.Value > 0).OrderByDescending(p => p.Value).Select(p => (p.Key, p.Value))];
    }
}
