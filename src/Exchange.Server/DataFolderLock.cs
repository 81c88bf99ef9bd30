using Exchange.Journal;

namespace Exchange.Server;

/// <summary>
/// One exchange per data folder. A second server on the same folder used to get half-way
/// through start-up (recovery, a snapshot) and then die on the journal's lock, or the recorder
/// overflow file's, with a stack trace; this lock, taken before anything starts, refuses it
/// with one line instead. It also covers what has no lock of its own: the SQLite database and
/// the development JWT secret.
/// </summary>
internal static class DataFolderLock
{
    public const string FileName = "exchange.lock";

    public static FileStream Take(string dataDirectory)
    {
        var path = Path.Combine(dataDirectory, FileName);
        try
        {
            return ExclusiveLockFile.TryTake(path) ?? throw new InvalidConfigurationException(
                $"The data folder {dataDirectory} is in use by another exchange process ({FileName} is locked): " +
                "stop that one, or set EXCHANGE_DATA_DIR to another folder.");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidConfigurationException($"EXCHANGE_DATA_DIR={dataDirectory} is not usable: cannot create {path}: {e.Message}");
        }
    }
}
