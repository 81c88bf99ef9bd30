using System.Runtime.InteropServices;

namespace Exchange.Journal;

/// <summary>
/// Asks Linux for a short time slice (0.1 ms; the default is 0.7 ms times 1 + log2 of the
/// cores, 1.4 ms here) for the calling thread. The engine and journal threads wake for every
/// command and run for microseconds; with the default slice a waking one waits for whatever
/// runs on the core (request handlers, the recorder, the garbage collector) to use up its
/// slice, and those waits were a millisecond or more of the slowest commands' latency on two
/// cores (docs/benchmarks.md, eighth pass).
/// <para>
/// EEVDF (Linux 6.6+) picks by deadline, and since 6.12 a thread whose own slice
/// (<c>sched_setattr</c>, no privilege needed, unlike a higher priority) is shorter may
/// preempt on waking. Older kernels accept the call and ignore it; other systems skip it. A
/// refusal costs only latency, so it is not reported.
/// </para>
/// </summary>
internal static class ShortTimeSlice
{
    private const ulong SliceNs = 100_000; // the kernel's minimum custom slice

    public static bool Request()
    {
        if (!OperatingSystem.IsLinux()) return false;
        long number = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => 314,
            Architecture.Arm64 => 274,
            _ => -1,
        };
        if (number < 0) return false;
        var attr = new SchedAttr { Size = (uint)Marshal.SizeOf<SchedAttr>(), Policy = 0 /* SCHED_OTHER */, Runtime = SliceNs };
        try
        {
            return NativeMethods.syscall(number, 0 /* this thread */, ref attr, 0) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
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
    }
}
