namespace Exchange.Server.Tests;

/// <summary>
/// A data folder under the temp directory that is deleted when disposed: a run of the suite
/// starts hundreds of exchanges, and their journals would otherwise stay behind (gigabytes on a
/// machine that runs it often). Declare it before the apps that use it, so they stop first.
/// </summary>
public sealed class TempDataFolder(string prefix) : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory(prefix).FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Something still writing into it (a process a failed test left behind): leave it.
        }
    }
}
