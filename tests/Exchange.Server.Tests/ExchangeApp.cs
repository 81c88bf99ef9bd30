using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Exchange.Data;
using Exchange.Engine;
using Exchange.Journal;
using Exchange.Server.Api;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace Exchange.Server.Tests;

/// <summary>
/// The whole exchange in process (engine, journal, SQLite, API) over a temp data folder,
/// without the price feed: tests set prices themselves so every number is known.
/// </summary>
public sealed class ExchangeApp : WebApplicationFactory<Program>
{
    public const string JwtSecret = "test-secret-that-is-at-least-32-bytes-long!!";

    /// <param name="historyWait">
    /// HISTORY_WAIT_MS. Long by default: a busy machine can keep the recorder (nice 10) from
    /// writing for seconds, and a test that reads history means to wait for it. Tests of the
    /// wait running out set a short one.
    /// </param>
    /// <param name="time">The clock the exchange reads (the engine's input times, token lifetimes); the system's by default.</param>
    public ExchangeApp(string? dataDirectory = null, string? webRoot = null, TimeSpan? historyWait = null, TimeProvider? time = null)
    {
        Time = time;
        HistoryWait = historyWait ?? TimeSpan.FromSeconds(30);
        _ownFolder = dataDirectory is null ? new TempDataFolder("exchange-api-") : null;
        DataDirectory = dataDirectory ?? _ownFolder!.Path;
        WebRoot = webRoot;
    }

    private readonly TempDataFolder? _ownFolder;

    public string DataDirectory { get; }

    public TimeProvider? Time { get; }

    public TimeSpan HistoryWait { get; }

    /// <summary>The static files to serve instead of the built web terminal.</summary>
    public string? WebRoot { get; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("EXCHANGE_DATA_DIR", DataDirectory);
        builder.UseSetting("EXCHANGE_ROLES", "api,engine");
        builder.UseSetting("AUTH_JWT_SECRET", JwtSecret);
        builder.UseSetting("AUTH_RATE_LIMIT_PER_MINUTE", "100000");
        builder.UseSetting("HISTORY_WAIT_MS", ((long)HistoryWait.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture));
        // No invented candle history: tests see only their own ticks (CandlesApiTests turns it on).
        builder.UseSetting("CANDLE_BACKFILL", "false");
        if (WebRoot is not null) builder.UseWebRoot(WebRoot);
        if (Time is { } time) builder.ConfigureTestServices(services => services.AddSingleton(time));
    }

    /// <summary>Sends a tick through the log (as the feed would) and waits until the engine has applied it.</summary>
    public async Task TickAsync(string symbol, decimal bid, decimal ask)
    {
        var engine = Services.GetRequiredService<EngineHost>();
        engine.Config.TryFindAsset(symbol, out var asset);
        var b = Price.FromDecimal(bid);
        var a = Price.FromDecimal(ask);
        engine.SubmitTick(asset, b, a);
        Services.GetRequiredService<PriceBoard>().Update(asset, b, a, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        await engine.ReadAsync(_ => 0);
    }

    /// <summary>Until the recorder has written everything the engine has answered so far.</summary>
    public Task RecordedAsync() => Services.GetRequiredService<EventRecorder>().FlushAsync();

    public async Task MarketAsync()
    {
        await TickAsync("BTC_USDC", 95_000m, 95_010m);
        await TickAsync("ETH_USDC", 3_499m, 3_500m);
        await TickAsync("SOL_USDC", 239.90m, 240.00m);
    }

    /// <summary>A new trader, signed up (cookie set on the client) and with a trading account.</summary>
    public async Task<Trader> TraderAsync(bool createAccount = true)
    {
        var client = CreateClient(new WebApplicationFactoryClientOptions { HandleCookies = true, BaseAddress = ClientOptions.BaseAddress });
        var email = $"trader-{Guid.NewGuid():N}@example.com";
        var signup = await client.PostAsJsonAsync("/api/v1/auth/signup", new { email, password = "correct horse battery" });
        signup.EnsureSuccessStatusCode();
        var body = await signup.Content.ReadFromJsonAsync<JsonObject>();
        var trader = new Trader(client, email, body!["token"]!.GetValue<string>(), Guid.Parse(body["user"]!["id"]!.GetValue<string>()));
        if (createAccount) Assert.True((await trader.EngineAsync(new { command = "CREATE_ACCOUNT" })).IsSuccessStatusCode);
        return trader;
    }

    /// <summary>
    /// Takes SQLite's write lock from another connection, as a stuck database would: reads still
    /// work, the recorder's writes wait until the lock is released (or disposed).
    /// </summary>
    public Task<DatabaseWriteLock> HoldDatabaseWriteLockAsync() => DatabaseWriteLock.TakeAsync(Path.Combine(DataDirectory, "exchange.db"));

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        _ownFolder?.Dispose(); // a folder handed in belongs to the test, which may start another app on it
        GC.SuppressFinalize(this);
    }
}

public sealed record Trader(HttpClient Client, string Email, string Token, Guid Id)
{
    public Task<HttpResponseMessage> EngineAsync(object command) => Client.PostAsJsonAsync("/api/v1/engine", command);

    public async Task<JsonObject> EngineOkAsync(object command)
    {
        var response = await EngineAsync(command);
        var json = await response.Content.ReadFromJsonAsync<JsonObject>();
        Assert.True(response.IsSuccessStatusCode, $"{response.StatusCode}: {json}");
        return json!;
    }

    public async Task<string> OpenAsync(string asset = "SOL_USDC", string direction = "LONG", decimal margin = 100, int leverage = 10,
        decimal? stopLossPrice = null, decimal? takeProfitPrice = null)
    {
        var reply = await EngineOkAsync(new { command = "CREATE_TRADE", asset, direction, margin, leverage, stopLossPrice, takeProfitPrice });
        return reply["engineResponse"]!["data"]!["tradeId"]!.GetValue<string>();
    }

    public async Task<JsonNode> GetJsonAsync(string url)
    {
        var response = await Client.GetAsync(url);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{url}: {response.StatusCode}: {text}");
        return JsonNode.Parse(text)!;
    }
}

internal static class Json
{
    public static decimal Dec(this JsonNode? node) => node!.GetValue<decimal>();

    public static async Task<JsonObject> ProblemAsync(this HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return (await response.Content.ReadFromJsonAsync<JsonObject>(JsonSerializerOptions.Web))!;
    }
}

/// <summary>SQLite's write lock held by a connection of its own (<see cref="ExchangeApp.HoldDatabaseWriteLockAsync"/>).</summary>
public sealed class DatabaseWriteLock(SqliteConnection connection) : IAsyncDisposable
{
    private bool _held = true;

    /// <summary>Held until released or disposed; the exchange may run in this process or another.</summary>
    public static async Task<DatabaseWriteLock> TakeAsync(string databaseFile)
    {
        var connection = new SqliteConnection($"Data Source={databaseFile};Pooling=False");
        await connection.OpenAsync();
        var held = new DatabaseWriteLock(connection);
        await held.RunAsync("BEGIN IMMEDIATE");
        return held;
    }

    internal async Task RunAsync(string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    public async Task ReleaseAsync()
    {
        if (!_held) return;
        _held = false;
        await RunAsync("COMMIT");
    }

    public async ValueTask DisposeAsync()
    {
        await ReleaseAsync();
        await connection.DisposeAsync();
    }
}
