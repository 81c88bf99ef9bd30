using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;

namespace Exchange.LoadTest;

/// <summary>
/// What else held a CPU while the slowest replies waited. Records the scheduler with
/// <c>perf sched record</c> (root and the <c>perf</c> tool needed) from the start of the measured
/// window, then reads <c>perf sched timehist</c> and finds the stretches in which a thread of
/// another process (a kernel thread included) ran 0.5 ms or more on one CPU. For each such thread
/// it counts the slowest 1 % of replies that were outstanding during one of its stretches, and the
/// p99 of the replies that overlapped none. On a two-core VM whose kernel does not preempt kernel
/// threads, one of them holding a CPU for milliseconds leaves the exchange and the generator a
/// single core, and a thread woken onto the held CPU waits until it is let go.
/// </summary>
public sealed class SchedTrace
{
    private const double StretchMs = 0.5;   // shorter stretches are ordinary interleaving
    private const double MergeGapMs = 0.5;  // a thread switched out and back in this soon is one stretch
    private const double LongWaitMs = 1.0;  // our threads' run-queue waits worth counting

    private readonly Process _perf;
    private readonly string _file;

    private SchedTrace(Process perf, string file)
    {
        _perf = perf;
        _file = file;
    }

    /// <summary>Starts recording for <paramref name="seconds"/>; null (with the reason on stderr) when perf cannot run.</summary>
    public static SchedTrace? Start(double seconds)
    {
        var file = Path.Combine(Path.GetTempPath(), $"loadtest-sched-{Environment.ProcessId}.data");
        // CLOCK_MONOTONIC: the same clock as Stopwatch on Linux, so replies and CPU stretches line up.
        var info = new ProcessStartInfo("perf")
        {
            ArgumentList = { "sched", "record", "-k", "CLOCK_MONOTONIC", "-a", "-o", file, "--", "sleep", seconds.ToString("F1", CultureInfo.InvariantCulture) },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        try
        {
            var perf = Process.Start(info)!;
            _ = perf.StandardOutput.ReadToEndAsync();
            _ = perf.StandardError.ReadToEndAsync();
            return new SchedTrace(perf, file);
        }
        catch (Win32Exception e)
        {
            Console.Error.WriteLine($"loadtest: --sched-trace needs perf: {e.Message}");
            return null;
        }
    }

    /// <summary>Waits for the recording to end and lines it up with the replies; the report, or null when nothing was recorded.</summary>
    public async Task<IReadOnlyList<string>?> ReportAsync(IReadOnlyCollection<(long ArrivedTicks, TimeSpan Latency)> replies, IReadOnlySet<int> ours)
    {
        try
        {
            await _perf.WaitForExitAsync();
            if (_perf.ExitCode != 0 || !File.Exists(_file))
            {
                Console.Error.WriteLine($"loadtest: perf sched record failed (exit code {_perf.ExitCode}; it needs root)");
                return null;
            }
            var timehist = new ProcessStartInfo("perf") { ArgumentList = { "sched", "timehist", "-i", _file }, RedirectStandardOutput = true, RedirectStandardError = true };
            using var reader = Process.Start(timehist)!;
            _ = reader.StandardError.ReadToEndAsync();
            var runs = new List<CpuRun>();
            while (await reader.StandardOutput.ReadLineAsync() is { } line)
                if (CpuRun.TryParse(line) is { } run) runs.Add(run);
            await reader.WaitForExitAsync();
            return runs.Count == 0 ? null : Report(replies, runs, ours);
        }
        finally
        {
            File.Delete(_file);
        }
    }

    /// <summary>One line of <c>perf sched timehist</c>: a thread that ran until <see cref="End"/> (seconds) on a CPU.</summary>
    public readonly record struct CpuRun(double End, int Cpu, string Name, int Pid, double DelayMs, double RunMs)
    {
        public double Start => End - RunMs / 1000;

        // "   25076.181555 [0000]  .NET Sockets[31420/31379]   0.405   0.009   0.055": the name may hold spaces.
        public static CpuRun? TryParse(string line)
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 6 || !parts[1].StartsWith('[')
                || !double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var end)
                || !int.TryParse(parts[1].Trim('[', ']'), NumberStyles.Integer, CultureInfo.InvariantCulture, out var cpu)
                || !double.TryParse(parts[^3], NumberStyles.Float, CultureInfo.InvariantCulture, out _) // time asleep before
                || !double.TryParse(parts[^2], NumberStyles.Float, CultureInfo.InvariantCulture, out var delay)
                || !double.TryParse(parts[^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var run))
                return null;
            var task = string.Join(' ', parts[2..^3]);
            var open = task.LastIndexOf('[');
            if (open < 0) return new CpuRun(end, cpu, task, 0, delay, run); // <idle>
            var ids = task[(open + 1)..].TrimEnd(']');
            var pid = int.TryParse(ids[(ids.IndexOf('/') + 1)..], NumberStyles.Integer, CultureInfo.InvariantCulture, out var p) ? p : 0;
            return new CpuRun(end, cpu, task[..open], pid, delay, run);
        }
    }

    public static IReadOnlyList<string> Report(IReadOnlyCollection<(long ArrivedTicks, TimeSpan Latency)> replies, IReadOnlyList<CpuRun> runs, IReadOnlySet<int> ours)
    {
        var from = runs.Min(r => r.End);
        var to = runs.Max(r => r.End);
        var inTrace = replies
            .Select(r =>
            {
                var end = (double)r.ArrivedTicks / Stopwatch.Frequency;
                return (Start: end - r.Latency.TotalSeconds, End: end, Ms: r.Latency.TotalMilliseconds);
            })
            .Where(r => r.End >= from && r.End <= to)
            .ToArray();
        if (inTrace.Length < 100) return ["scheduler trace     too few replies inside the trace"];
        var p99 = P99(inTrace.Select(r => r.Ms));
        var slow = inTrace.Where(r => r.Ms >= p99).ToArray();
        List<string> lines = [Invariant($"scheduler trace     {to - from:F1} s: {inTrace.Length} replies, p99 {p99:F2} ms; of the {slow.Length} at or above it, how many were outstanding while another process's thread held a CPU {StretchMs} ms or more:")];

        var stretches = Stretches(runs.Where(r => r.Pid != 0 && !ours.Contains(r.Pid)));
        var byThread = stretches.GroupBy(s => s.Name)
            .Select(g => (Name: g.Key, List: g.ToList()))
            .Select(g => (g.Name, g.List, HitSlow: slow.Count(r => g.List.Any(s => s.Overlaps(r.Start, r.End)))))
            .Where(g => g.HitSlow > 0).OrderByDescending(g => g.HitSlow).Take(5);
        foreach (var (name, list, hitSlow) in byThread)
        {
            var hit = inTrace.ToLookup(r => list.Any(s => s.Overlaps(r.Start, r.End)));
            var without = P99(hit[false].Select(r => r.Ms));
            lines.Add(Invariant($"  {name,-18} {list.Count} stretch(es), longest {list.Max(s => s.OnCpuMs):F1} ms: {hitSlow} of the {slow.Length} (and {100.0 * hit[true].Count() / inTrace.Length:F1} % of all replies); p99 of the others {without:F2} ms"));
        }

        var ourWaits = runs.Where(r => ours.Contains(r.Pid) && r.DelayMs >= LongWaitMs).ToArray();
        var waits = string.Join(", ", ourWaits.GroupBy(r => r.Name).OrderByDescending(g => g.Count()).Take(5).Select(g =>
            $"{g.Key} {g.Count()} ({g.Count(w => stretches.Any(s => s.Cpu == w.Cpu && s.Overlaps(w.Start - w.DelayMs / 1000, w.Start)))})"));
        lines.Add($"  run-queue waits of {LongWaitMs} ms or more in the server and the generator (in brackets: on a CPU so held): {(waits.Length == 0 ? "none" : waits)}");
        return lines;
    }

    private readonly record struct Stretch(string Name, int Cpu, double Start, double End, double OnCpuMs)
    {
        public bool Overlaps(double start, double end) => start <= End && end >= Start;
    }

    /// <summary>Runs of the same thread on the same CPU with short gaps between them, merged, and kept when long.</summary>
    private static List<Stretch> Stretches(IEnumerable<CpuRun> runs)
    {
        var merged = new List<Stretch>();
        foreach (var group in runs.GroupBy(r => (r.Name, r.Pid, r.Cpu)))
        {
            Stretch? open = null;
            foreach (var r in group.OrderBy(r => r.End))
            {
                if (open is { } o && r.Start - o.End <= MergeGapMs / 1000)
                {
                    open = o with { End = r.End, OnCpuMs = o.OnCpuMs + r.RunMs };
                    continue;
                }
                if (open is { OnCpuMs: >= StretchMs } done) merged.Add(done);
                open = new Stretch(r.Name, r.Cpu, r.Start, r.End, r.RunMs);
            }
            if (open is { OnCpuMs: >= StretchMs } last) merged.Add(last);
        }
        return merged;
    }

    private static double P99(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)(sorted.Length * 0.99))];
    }

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
