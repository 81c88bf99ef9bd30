using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Exchange.LoadTest;

/// <summary>
/// Sleeps until a Stopwatch timestamp with sub-millisecond precision. Thread.Sleep only takes
/// whole milliseconds (and oversleeps to ~1.1 ms), which at 2,000 requests/s would send every
/// other request half a millisecond late; spinning instead would steal a core from the server.
/// nanosleep wakes within the kernel's timer slack (50 us by default).
/// </summary>
internal static class PreciseSleep
{
    private static readonly double NanosPerTick = 1e9 / Stopwatch.Frequency;

    public static void Until(long timestamp)
    {
        var nanos = (long)((timestamp - Stopwatch.GetTimestamp()) * NanosPerTick);
        if (nanos <= 0) return;
        if (nanos > 3_000_000)
        {
            Thread.Sleep((int)(nanos / 1_000_000) - 1);
            return;
        }
        if (OperatingSystem.IsLinux())
        {
            var request = new Timespec { Seconds = 0, Nanoseconds = (nint)nanos };
            _ = NativeMethods.nanosleep(ref request, IntPtr.Zero);
        }
        else
        {
            Thread.Yield();
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public nint Seconds;
        public nint Nanoseconds;
    }

    private static class NativeMethods
    {
        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int nanosleep(ref Timespec request, IntPtr remaining);
    }
}
