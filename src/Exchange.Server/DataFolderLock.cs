using Exchange.Journal;

namespace Exchange.Server;

/// <summary>
/// One exchange per data folder. A second server on the same folder used to get half-way
/// through start-up (recovery, a snapshot) and then die on the journal's lock, or the recorder
/// overflow file's, with a stack trace. The host holds this lock for as long as it runs (the
/// first hosted service, so it is taken before the others are even built); Program tries it
/// once before building the host, to refuse with one line. It also covers what has no lock of
/// its own: the SQLite database and the development JWT secret.
/// </summary>
internal sealed class DataFolderLock : IHostedService, IDisposable
{
    public const string FileName = "exchange.lock";

    private readonly FileStream _held;

    public DataFolderLock(ExchangeSettings settings) => _held = Take(settings.DataDirectory);

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Released when the host is disposed, after every other service has stopped.</summary>
    public void Dispose() => _held.Dispose();

    /// <exception cref="InvalidConfigurationException">Another process holds the folder, or it cannot be written.</exception>
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
