using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Exchange.Journal;

/// <summary>
/// A lock file held open with <see cref="FileShare.None"/> for as long as its owner runs (an
/// advisory <c>flock</c> on Linux): the operating system drops it when the process dies, so a
/// crash never leaves a stale lock behind.
/// </summary>
public static class ExclusiveLockFile
{
    private const int LinuxWouldBlock = 11; // EWOULDBLOCK: another open file holds the flock
    private const int WindowsSharingViolation = unchecked((int)0x80070020);
    private const int LockExclusive = 2, LockNonBlocking = 4;

    /// <summary>Opens and locks <paramref name="path"/>; null when another process (or another open in this one) holds it.</summary>
    /// <exception cref="IOException">The file system cannot lock it: two processes could then write one folder.</exception>
    public static FileStream? TryTake(string path)
    {
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (e.HResult is LinuxWouldBlock or WindowsSharingViolation)
        {
            return null;
        }
        if (!OperatingSystem.IsLinux()) return file;
        // The runtime's own flock is best effort: it ignores every failure but "held elsewhere"
        // (a file system without locks), and DOTNET_SYSTEM_IO_DISABLEFILELOCKING turns it off.
        // Taken again here, on the same open file, where any failure is one.
        if (NativeMethods.flock(file.SafeFileHandle, LockExclusive | LockNonBlocking) == 0) return file;
        var errno = Marshal.GetLastPInvokeError();
        file.Dispose();
        return errno == LinuxWouldBlock
            ? null
            : throw new IOException($"Cannot lock {path} (errno {errno}): without the lock two processes could write the same data.");
    }

    private static class NativeMethods
    {
        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int flock(SafeFileHandle fd, int operation);
    }
}

/// <summary>Another process has this journal open: two writers would interleave garbage.</summary>
public sealed class JournalInUseException(string directory)
    : IOException($"The journal in {directory} is in use by another process (its journal.lock is held).")
{
    public string Directory { get; } = directory;
}
