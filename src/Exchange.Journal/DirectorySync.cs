using System.Runtime.InteropServices;
using System.Text;

namespace Exchange.Journal;

/// <summary>
/// fsync of a directory, so a new or deleted segment's name survives a power cut. .NET cannot
/// open a directory as a file, hence the two libc calls. Windows has no such step.
/// </summary>
public static class DirectorySync
{
    /// <summary>
    /// Creates <paramref name="directory"/> and any missing parents so that their names survive a
    /// power cut as well: each new name is synced into the folder that holds it (an fsync of a
    /// file inside a new folder does not make the folder's own entry durable).
    /// </summary>
    /// <param name="mode">Permissions of the folders made (Unix); null for the default.</param>
    /// <param name="sync">false only where fsync is off altogether (tests).</param>
    public static DirectoryInfo Create(string directory, UnixFileMode? mode = null, bool sync = true)
    {
        var missing = new Stack<string>();
        for (var d = Path.GetFullPath(directory); d is not null && !Directory.Exists(d); d = Path.GetDirectoryName(d)) missing.Push(d);
        var info = mode is { } m && !OperatingSystem.IsWindows() ? Directory.CreateDirectory(directory, m) : Directory.CreateDirectory(directory);
        if (sync)
        {
            // Outermost first: a name is synced once the folder holding it is durable itself.
            while (missing.TryPop(out var made)) Flush(Path.GetDirectoryName(made)!);
        }
        return info;
    }

    public static void Flush(string directory)
    {
        if (OperatingSystem.IsWindows()) return;
        var path = Encoding.UTF8.GetBytes(Path.GetFullPath(directory) + "\0");
        var fd = NativeMethods.open(path, 0);
        if (fd < 0)
            throw new IOException($"Cannot open directory {directory} to sync it (errno {Marshal.GetLastPInvokeError()}).");
        try
        {
            if (NativeMethods.fsync(fd) != 0)
                throw new IOException($"fsync of directory {directory} failed (errno {Marshal.GetLastPInvokeError()}).");
        }
        finally
        {
            _ = NativeMethods.close(fd);
        }
    }

    private static class NativeMethods
    {
        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int open(byte[] path, int flags);

        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int fsync(int fd);

        [DllImport("libc", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int close(int fd);
    }
}
