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

    /// <summary>Opens and locks <paramref name="path"/>; null when another process (or another open in this one) holds it.</summary>
    public static FileStream? TryTake(string path)
    {
        try
        {
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (e.HResult is LinuxWouldBlock or WindowsSharingViolation)
        {
            return null;
        }
    }
}

/// <summary>Another process has this journal open: two writers would interleave garbage.</summary>
public sealed class JournalInUseException(string directory)
    : IOException($"The journal in {directory} is in use by another process (its journal.lock is held).")
{
    public string Directory { get; } = directory;
}
