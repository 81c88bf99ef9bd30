using System.Text.Json;
using Exchange.Engine;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Exchange.Data.Tests;

/// <summary>A real SQLite file in a fresh temporary folder, set up the way the server does it.</summary>
public sealed class TestDatabase : IAsyncDisposable
{
    private static readonly JsonSerializerOptions DumpOptions = new() { WriteIndented = true };

    private readonly ServiceProvider _services;
    private readonly List<EventRecorder> _running = [];

    private TestDatabase(string directory)
    {
        Directory = directory;
        _services = new ServiceCollection()
            .AddLogging(b => b.SetMinimumLevel(LogLevel.Warning))
            .AddExchangeDatabase(databaseUrl: null, dataDirectory: directory)
            .BuildServiceProvider();
        Factory = _services.GetRequiredService<IDbContextFactory<ExchangeDbContext>>();
    }

    public string Directory { get; }
    public IDbContextFactory<ExchangeDbContext> Factory { get; }
    public IServiceProvider Services => _services;

    public static async Task<TestDatabase> CreateAsync(bool migrate = true)
    {
        var db = new TestDatabase(System.IO.Directory.CreateTempSubdirectory("exchange-data-").FullName);
        if (migrate) await ExchangeDatabase.MigrateAsync(db.Factory);
        return db;
    }

    public ExchangeDbContext Context() => Factory.CreateDbContext();

    /// <summary>A started recorder; stopped (draining its queue) when the test database is disposed.</summary>
    public async Task<EventRecorder> StartRecorderAsync(EventRecorderOptions? options = null)
    {
        var recorder = new EventRecorder(Factory, new EngineConfig(),
            _services.GetRequiredService<ILogger<EventRecorder>>(), options);
        await recorder.StartAsync(CancellationToken.None);
        _running.Add(recorder);
        return recorder;
    }

    public async Task StopAsync(EventRecorder recorder)
    {
        await recorder.StopAsync(CancellationToken.None);
        recorder.Dispose();
        _running.Remove(recorder);
    }

    /// <summary>Every row of every table, in key order, as text: equal dumps mean equal databases.</summary>
    public async Task<string> DumpAsync()
    {
        await using var db = Context();
        return JsonSerializer.Serialize(new
        {
            Users = await db.Users.AsNoTracking().OrderBy(u => u.Id).ToListAsync(),
            Orders = await db.Orders.AsNoTracking().OrderBy(o => o.OrderId).ToListAsync(),
            Trades = await db.Trades.AsNoTracking().OrderBy(t => t.TradeId).ToListAsync(),
            Ledger = await db.Ledger.AsNoTracking().OrderBy(e => e.EventSequence).ToListAsync(),
            Cursor = await db.RecorderCursors.AsNoTracking().ToListAsync(),
        }, DumpOptions);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var recorder in _running.ToList()) await StopAsync(recorder);
        await _services.DisposeAsync();
        // Pooled SQLite connections keep the file open; close them before deleting it.
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
