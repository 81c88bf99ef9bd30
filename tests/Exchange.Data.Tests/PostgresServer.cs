using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Exchange.Data.Tests;

/// <summary>
/// A throw-away PostgreSQL 15 server for the tests that need one, started from Debian's
/// binaries as the postgres user (initdb refuses root). Where those binaries or root are
/// missing, <see cref="PostgresFactAttribute"/> skips the tests instead, unless REQUIRE_POSTGRES=1
/// (set by scripts/test.sh, which installs them) makes them fail.
/// </summary>
public sealed class PostgresServer : IDisposable
{
    private const string Bin = "/usr/lib/postgresql/15/bin";

    private readonly Lazy<int> _port;
    private string? _dataDir;

    public static bool Available =>
        File.Exists(Path.Combine(Bin, "initdb")) && File.Exists("/usr/sbin/runuser") && Environment.UserName == "root";

    // Started by the first test that asks, so that where the tests are skipped nothing runs.
    public PostgresServer() => _port = new Lazy<int>(Start);

    /// <summary>A DATABASE_URL for a database of its own (EF Core creates it when migrating).</summary>
    public string NewDatabaseUrl() => $"postgresql://postgres@127.0.0.1:{_port.Value}/exchange_{Guid.NewGuid():N}";

    private int Start()
    {
        if (!Available) throw new InvalidOperationException("PostgreSQL binaries or root are missing.");
        _dataDir = Path.Combine(Path.GetTempPath(), $"exchange-pg-{Guid.NewGuid():N}");
        var port = FreePort();
        Run("install", $"-d -o postgres -g postgres -m 700 {_dataDir}");
        RunAsPostgres("initdb", $"-D {_dataDir} -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 -N");
        RunAsPostgres("pg_ctl",
            $"-D {_dataDir} -l {_dataDir}/server.log -w -t 30 -o \"-c listen_addresses=127.0.0.1 -p {port} -k {_dataDir} -c fsync=off\" start");
        return port;
    }

    public void Dispose()
    {
        if (_dataDir is null) return;
        try
        {
            RunAsPostgres("pg_ctl", $"-D {_dataDir} -m immediate -w stop");
        }
        finally
        {
            Directory.Delete(_dataDir, recursive: true);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static void RunAsPostgres(string tool, string arguments) =>
        Run("/usr/sbin/runuser", $"-u postgres -- {Path.Combine(Bin, tool)} {arguments}");

    private static void Run(string file, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{file} {arguments} exited with {process.ExitCode}: {stderr}{stdout.Result}");
    }
}

/// <summary>
/// A fact that needs <see cref="PostgresServer"/>; skipped where it cannot start, except under
/// REQUIRE_POSTGRES=1: there a missing PostgreSQL is the failure it is, not a quiet skip.
/// </summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (!PostgresServer.Available && Environment.GetEnvironmentVariable("REQUIRE_POSTGRES") != "1")
            Skip = "PostgreSQL 15 binaries (/usr/lib/postgresql/15/bin) or root are not available";
    }
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresServer>
{
    public const string Name = "PostgreSQL";
}
