using System.Text.Json;
using System.Text.Json.Serialization;
using Exchange.Engine;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Exchange.Data.Tests;

/// <summary>A real SQLite file in a fresh temporary folder, set up the way the server does it.</summary>
public sealed class TestDatabase : IAsyncDisposable
{
    private static readonly JsonSerializerOptions DumpOptions = new() { WriteIndented = true, Converters = { new NormalizedDecimal() } };

    private readonly ServiceProvider _services;
    private readonly List<EventRecorder> _running = [];

    private TestDatabase(string directory, string? databaseUrl)
    {
        Directory = directory;
        _services = new ServiceCollection()
            .AddLogging(b => b.SetMinimumLevel(LogLevel.Warning))
            .AddExchangeDatabase(databaseUrl, dataDirectory: directory)
            .BuildServiceProvider();
        Factory = _services.GetRequiredService<IDbContextFactory<ExchangeDbContext>>();
    }

    public string Directory { get; }

    /// <summary>Where the test's recorders keep what waits beyond their memory queue.</summary>
    public string OverflowDirectory => Path.Combine(Directory, "recorder-overflow");

    public IDbContextFactory<ExchangeDbContext> Factory { get; }
    public IServiceProvider Services => _services;

    /// <param name="databaseUrl">null for SQLite in the temporary folder; a PostgreSQL URL otherwise.</param>
    public static async Task<TestDatabase> CreateAsync(bool migrate = true, string? databaseUrl = null)
    {
        var db = new TestDatabase(System.IO.Directory.CreateTempSubdirectory("exchange-data-").FullName, databaseUrl);
        if (migrate) await ExchangeDatabase.MigrateAsync(db.Factory);
        return db;
    }

    public ExchangeDbContext Context() => Factory.CreateDbContext();

    /// <summary>A started recorder; stopped (draining its queue) when the test database is disposed.</summary>
    public async Task<EventRecorder> StartRecorderAsync(EventRecorderOptions? options = null)
    {
        var recorder = new EventRecorder(Factory, new EngineConfig(),
            _services.GetRequiredService<ILogger<EventRecorder>>(),
            (options ?? new EventRecorderOptions()) with { OverflowDirectory = options?.OverflowDirectory ?? OverflowDirectory });
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

    /// <summary>
    /// Every row of every table, in key order, as text: equal dumps mean equal databases, on
    /// either provider (sorted here, decimals without trailing zeros).
    /// </summary>
    public async Task<string> DumpAsync()
    {
        await using var db = Context();
        return JsonSerializer.Serialize(new
        {
            Users = (await db.Users.AsNoTracking().ToListAsync()).OrderBy(u => u.Id.ToString()),
            Orders = (await db.Orders.AsNoTracking().ToListAsync()).OrderBy(o => o.OrderId.ToString()),
            Trades = (await db.Trades.AsNoTracking().ToListAsync()).OrderBy(t => t.TradeId, StringComparer.Ordinal),
            Ledger = (await db.Ledger.AsNoTracking().ToListAsync()).OrderBy(e => e.EventSequence),
            Cursor = await db.RecorderCursors.AsNoTracking().ToListAsync(),
        }, DumpOptions);
    }

    private sealed class NormalizedDecimal : JsonConverter<decimal>
    {
        public override decimal Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.GetDecimal();

        // Dividing by 1.000… drops the trailing zeros that a numeric(20,8) column adds.
        public override void Write(Utf8JsonWriter writer, decimal value, JsonSerializerOptions options) =>
            writer.WriteNumberValue(value / 1.0000000000000000000000000000m);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var recorder in _running.ToList()) await StopAsync(recorder);
        await _services.DisposeAsync();
        // Pooled SQLite connections keep the file open; close them before deleting it.
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Npgsql.NpgsqlConnection.ClearAllPools();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
