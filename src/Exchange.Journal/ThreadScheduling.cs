using System.Globalization;
using System.Runtime.InteropServices;

namespace Exchange.Journal;

/// <summary>
/// How Linux schedules the calling thread against the others on a small machine. Both calls
/// need no privilege; older kernels and other systems skip them, and a refusal costs only
/// latency, so it is not reported.
/// </summary>
public static class ThreadScheduling
{
    private const ulong ShortSliceNs = 100_000; // the kernel's minimum custom slice
    private const int BackgroundNice = 10;

    /// <summary>
    /// Asks for a 0.1 ms time slice (the default is 0.7 ms times 1 + log2 of the cores, 1.4 ms
    /// here). The engine thread (which also commits the journal) wakes for every command and
    /// runs for microseconds; with the default slice it waits on waking for whatever runs on the
    /// core (request handlers, the recorder, the garbage collector) to use up its slice, and those
    /// waits were a millisecond or more of the slowest commands' latency on two cores (docs/benchmarks.md,
    /// eighth pass). EEVDF (Linux 6.6+) picks by deadline, and since 6.12 a thread whose own
    /// slice (<c>sched_setattr</c>) is shorter may preempt on waking; older kernels accept the
    /// call and ignore it.
    /// </summary>
    public static bool RequestShortSlice()
    {
        if (!OperatingSystem.IsLinux()) return false;
        long number = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => 314,
            Architecture.Arm64 => 274,
            _ => -1,
        };
        if (number < 0) return false;
        var attr = new SchedAttr { Size = (uint)Marshal.SizeOf<SchedAttr>(), Policy = 0 /* SCHED_OTHER */, Runtime = ShortSliceNs };
        try
        {
            return NativeMethods.syscall(number, 0 /* this thread */, ref attr, 0) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>
    /// Lowers the calling thread to nice 10, for bulk work nobody waits on (the recorder's
    /// database batches, tens of milliseconds of CPU each): it still gets every idle cycle, but
    /// a request thread that wakes meanwhile runs first instead of sharing the core with it.
    /// One-way: an unprivileged thread cannot raise its priority again.
    /// </summary>
    public static bool RunInBackground()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            // On Linux the nice value is per thread, and "process 0" is the calling thread.
            return NativeMethods.setpriority(0 /* PRIO_PROCESS */, 0, BackgroundNice) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>
    /// Where the kernel counts the calling thread's time (<c>/proc/PID/task/TID/schedstat</c>), for
    /// <see cref="ReadSchedStat"/> from any thread later; null off Linux or without /proc.
    /// </summary>
    public static string? SchedStatPathOfThisThread()
    {
        if (!OperatingSystem.IsLinux()) return null;
        try
        {
            // "/proc/thread-self" links to "PID/task/TID" of whichever thread looks.
            return new FileInfo("/proc/thread-self").LinkTarget is { } self ? $"/proc/{self}/schedstat" : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>
    /// A thread's time on a CPU and its time runnable but waiting for one, both since it started:
    /// the second grows when other threads (or the kernel's own) hold the cores it could run on.
    /// Null once the thread has ended or when the file cannot be read.
    /// </summary>
    public static (TimeSpan OnCpu, TimeSpan Waiting)? ReadSchedStat(string path)
    {
        try
        {
            // "<ns on cpu> <ns waiting on a run queue> <timeslices>"
            var fields = File.ReadAllText(path).Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return fields.Length >= 2
                && long.TryParse(fields[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var onCpu)
                && long.TryParse(fields[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var waiting)
                ? (TimeSpan.FromTicks(onCpu / 100), TimeSpan.FromTicks(waiting / 100))
                : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct SchedAttr
    {
        public uint Size;
        public uint Policy;
        public ulong Flags;
        public int Nice;
        public uint Priority;
        public ulong Runtime; // for SCHED_OTHER: the requested slice
        public ulong Deadline;
        public ulong Period;
        public uint UtilMin;
        public uint UtilMax;
    }

    private static class NativeMethods
    {
        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern long syscall(long number, int pid, ref SchedAttr attr, uint flags);

        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int setpriority(int which, uint who, int prio);
    }
}
