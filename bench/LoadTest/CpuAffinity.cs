using System.Runtime.InteropServices;

namespace Exchange.LoadTest;

/// <summary>Pins the calling thread to one CPU (Linux <c>sched_setaffinity</c>; elsewhere it does nothing).</summary>
internal static class CpuAffinity
{
    public static void PinThisThread(int cpu)
    {
        if (!OperatingSystem.IsLinux() || cpu is < 0 or >= 64) return;
        var mask = 1UL << cpu;
        if (NativeMethods.sched_setaffinity(0, sizeof(ulong), ref mask) != 0)
            throw new InvalidOperationException($"sched_setaffinity to CPU {cpu} failed: errno {Marshal.GetLastPInvokeError()}");
    }

    private static class NativeMethods
    {
        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int sched_setaffinity(int pid, nint cpusetsize, ref ulong mask);
    }
}
