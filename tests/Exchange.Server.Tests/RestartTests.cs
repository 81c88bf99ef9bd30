using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Exchange.Data;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Exchange.Server.Tests;

/// <summary>Stopping and starting the exchange keeps balances, open trades, history and sign-ins.</summary>
public sealed class RestartTests
{
    [Fact]
    public async Task After_a_restart_balances_open_trades_and_history_are_all_there()
    {
        using var folder = new TempDataFolder("exchange-restart-");
        var dataDirectory = folder.Path;
        string email, keptTrade, closedTrade;
        string balanceBefore;
        await using (var app = new ExchangeApp(dataDirectory))
        {
            await app.MarketAsync();
            var trader = await app.TraderAsync();
            email = trader.Email;
            keptTrade = await trader.OpenAsync("BTC_USDC", "LONG", 250, 4);
            closedTrade = await trader.OpenAsync("SOL_USDC", "SHORT", 100, 10);
            await app.TickAsync("SOL_USDC", 230.00m, 230.10m);
            await trader.EngineOkAsync(new { command = "CLOSE_TRADE", tradeId = closedTrade });
            balanceBefore = (await trader.GetJsonAsync("/api/v1/balance")).ToJsonString();
            await app.Services.GetRequiredService<EventRecorder>().FlushAsync();
        }

        await using var restarted = new ExchangeApp(dataDirectory);
        var again = await SignInAsync(restarted, email);

        Assert.Equal(balanceBefore, (await again.GetJsonAsync("/api/v1/balance")).ToJsonString());
        var open = (await again.GetJsonAsync("/api/v1/trades?status=open"))["trades"]!.AsArray();
        Assert.Equal(keptTrade, Assert.Single(open)!["tradeId"]!.GetValue<string>());
        var closed = (await again.GetJsonAsync("/api/v1/trades?status=closed"))["trades"]!.AsArray();
        var row = Assert.Single(closed)!;
        Assert.Equal(closedTrade, row["tradeId"]!.GetValue<string>());
        Assert.Equal("MANUAL", row["closeReason"]!.GetValue<string>());
    }

    [Fact]
    public async Task After_a_restart_a_token_still_works_and_the_trades_triggers_still_fire()
    {
        using var folder = new TempDataFolder("exchange-restart-");
        string token, tradeId, orderId;
        await using (var app = new ExchangeApp(folder.Path))
        {
            await app.TickAsync("SOL_USDC", 239.90m, 240.00m);
            var trader = await app.TraderAsync();
            token = trader.Token;
            var opened = await trader.EngineOkAsync(new
            {
                command = "CREATE_TRADE", asset = "SOL_USDC", direction = "LONG", margin = 100, leverage = 10, stopLossPrice = 230.5m, takeProfitPrice = 250.75m,
            });
            tradeId = opened["engineResponse"]!["data"]!["tradeId"]!.GetValue<string>();
            orderId = opened["orderId"]!.GetValue<string>();
            await app.RecordedAsync();
        }

        await using var restarted = new ExchangeApp(folder.Path);
        var client = restarted.CreateClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token); // from before the restart
        var open = Assert.Single((await client.GetFromJsonAsync<JsonObject>("/api/v1/trades?status=open"))!["trades"]!.AsArray())!;
        Assert.Equal(tradeId, open["tradeId"]!.GetValue<string>());
        Assert.Equal(230.5m, open["stopLossPrice"].Dec());
        Assert.Equal(250.75m, open["takeProfitPrice"].Dec());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/api/v1/orders/{orderId}")).StatusCode);

        await restarted.TickAsync("SOL_USDC", 230.40m, 230.50m); // through the stop-loss
        var closed = await client.GetFromJsonAsync<JsonObject>("/api/v1/trades?status=closed");
        Assert.Equal("STOP_LOSS", Assert.Single(closed!["trades"]!.AsArray())!["closeReason"]!.GetValue<string>());
    }

    /// <summary>
    /// The database refuses every write from the first trade to the shutdown (its cursor table is
    /// renamed away), so the orders wait in the recorder's overflow file and the trades' events
    /// are re-created by recovery. Shutting down does not wait for a database that refuses writes.
    /// </summary>
    [Fact]
    public async Task Orders_and_trades_made_while_the_database_is_away_are_all_there_after_a_restart()
    {
        using var folder = new TempDataFolder("exchange-restart-");
        var dataDirectory = folder.Path;
        string email, keptTrade, closedTrade, closeOrder;
        await using (var app = new ExchangeApp(dataDirectory))
        {
            await app.MarketAsync();
            var trader = await app.TraderAsync();
            email = trader.Email;
            var recorder = app.Services.GetRequiredService<EventRecorder>();
            await recorder.FlushAsync();
            await RenameCursorTableAsync(dataDirectory, "RecorderCursor", "RecorderCursorAway");

            keptTrade = await trader.OpenAsync("BTC_USDC", "LONG", 250, 4);
            closedTrade = await trader.OpenAsync("SOL_USDC", "SHORT", 100, 10);
            closeOrder = (await trader.EngineOkAsync(new { command = "CLOSE_TRADE", tradeId = closedTrade }))["orderId"]!.GetValue<string>();
            for (var i = 0; i < 300 && recorder.ConsecutiveFailures == 0; i++) await Task.Delay(20);
            Assert.True(recorder.ConsecutiveFailures > 0);
        }
        var overflow = Path.Combine(dataDirectory, "recorder-overflow");
        for (var i = 0; i < 250 && !Directory.Exists(overflow); i++) await Task.Delay(20);
        Assert.True(Directory.Exists(overflow), "no overflow file after the shutdown");
        await RenameCursorTableAsync(dataDirectory, "RecorderCursorAway", "RecorderCursor");

        await using var restarted = new ExchangeApp(dataDirectory);
        var again = await SignInAsync(restarted, email);
        await restarted.Services.GetRequiredService<EventRecorder>().FlushAsync();

        var order = await again.GetJsonAsync($"/api/v1/orders/{closeOrder}");
        Assert.Equal("success", order["status"]!.GetValue<string>());
        var open = (await again.GetJsonAsync("/api/v1/trades?status=open"))["trades"]!.AsArray();
        Assert.Equal(keptTrade, Assert.Single(open)!["tradeId"]!.GetValue<string>());
        var closed = (await again.GetJsonAsync("/api/v1/trades?status=closed"))["trades"]!.AsArray();
        Assert.Equal(closedTrade, Assert.Single(closed)!["tradeId"]!.GetValue<string>());
        await using var db = restarted.Services.GetRequiredService<IDbContextFactory<ExchangeDbContext>>().CreateDbContext();
        Assert.Equal(4, await db.Orders.CountAsync()); // CREATE_ACCOUNT, two CREATE_TRADE, CLOSE_TRADE
        // Read to its end and committed, the file goes (on the recorder's own time).
        for (var i = 0; i < 500 && Directory.Exists(Path.Combine(dataDirectory, "recorder-overflow")); i++) await Task.Delay(20);
        Assert.False(Directory.Exists(Path.Combine(dataDirectory, "recorder-overflow")));
    }

    /// <summary>
    /// The data folder was reset but its database kept, and the database could not say how far it
    /// had recorded when the exchange started, so the start's check could not refuse it. Once it
    /// can, the recorder must not take that cursor and skip the new engine's events as recorded.
    /// </summary>
    [Fact]
    public async Task A_database_of_another_folder_found_out_after_the_start_gets_nothing_skipped_as_recorded()
    {
        using var folder = new TempDataFolder("exchange-restart-");
        var dataDirectory = folder.Path;
        await using (var first = new ExchangeApp(dataDirectory))
        {
            await first.MarketAsync();
            var trader = await first.TraderAsync();
            await trader.OpenAsync("BTC_USDC", "LONG", 250, 4);
            await first.RecordedAsync();
        }
        Directory.Delete(Path.Combine(dataDirectory, "journal"), recursive: true);
        Directory.Delete(Path.Combine(dataDirectory, "snapshots"), recursive: true);
        await RenameCursorTableAsync(dataDirectory, "RecorderCursor", "RecorderCursorAway");

        await using var reset = new ExchangeApp(dataDirectory);
        await reset.MarketAsync(); // started: the cursor could not be read, so nothing refused it
        var recorder = reset.Services.GetRequiredService<EventRecorder>();
        Assert.Equal(0, recorder.RecordedEventSequence);
        await RenameCursorTableAsync(dataDirectory, "RecorderCursorAway", "RecorderCursor");

        // Two more failed loads: the second began after the table was back.
        var failures = recorder.ConsecutiveFailures;
        for (var i = 0; i < 1_000 && recorder.ConsecutiveFailures is var now && now > 0 && now < failures + 2; i++) await Task.Delay(20);

        Assert.True(recorder.IsFailing, "the recorder took another folder's cursor");
        Assert.Equal(0, recorder.RecordedEventSequence);
    }

    private static async Task RenameCursorTableAsync(string dataDirectory, string from, string to)
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(dataDirectory, "exchange.db")};Pooling=False");
        await connection.OpenAsync();
        await using var rename = connection.CreateCommand();
        rename.CommandText = $"ALTER TABLE \"{from}\" RENAME TO \"{to}\"";
        await rename.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task After_a_restart_an_idempotency_key_still_returns_its_first_outcome_and_refuses_a_different_request()
    {
        using var folder = new TempDataFolder("exchange-restart-");
        var dataDirectory = folder.Path;
        var key = Guid.NewGuid().ToString();
        var order = new { command = "CREATE_TRADE", asset = "ETH_USDC", direction = "LONG", margin = 250, leverage = 4 };
        string email, orderId;
        await using (var app = new ExchangeApp(dataDirectory))
        {
            await app.MarketAsync();
            var trader = await app.TraderAsync();
            email = trader.Email;
            var first = await ResourceEndpointTests.SendWithKey(trader, "/api/v1/engine", key, order);
            orderId = (await first.Content.ReadFromJsonAsync<JsonObject>())!["orderId"]!.GetValue<string>();
            await app.Services.GetRequiredService<EventRecorder>().FlushAsync();
        }

        await using var restarted = new ExchangeApp(dataDirectory);
        await restarted.MarketAsync();
        var again = await SignInAsync(restarted, email);

        var different = await ResourceEndpointTests.SendWithKey(again, "/api/v1/engine", key, order with { margin = 500 });
        var retry = await ResourceEndpointTests.SendWithKey(again, "/api/v1/engine", key, order);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, different.StatusCode);
        Assert.Equal("IDEMPOTENCY_KEY_REUSED", (await different.ProblemAsync())["code"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal(orderId, (await retry.Content.ReadFromJsonAsync<JsonObject>())!["orderId"]!.GetValue<string>());
        Assert.Single((await again.GetJsonAsync("/api/v1/trades?status=open"))["trades"]!.AsArray());
    }

    /// <summary>
    /// After a restart a key is looked up in the database; a different request under it that
    /// arrives first must not make the true retry, arriving meanwhile, look like a reuse.
    /// </summary>
    [Fact]
    public async Task After_a_restart_a_retry_racing_a_different_request_under_its_key_still_gets_its_first_outcome()
    {
        using var folder = new TempDataFolder("exchange-restart-");
        var dataDirectory = folder.Path;
        var order = new { command = "CREATE_TRADE", asset = "ETH_USDC", direction = "LONG", margin = 20, leverage = 4 };
        var keys = Enumerable.Range(0, 20).Select(i => $"race-{i}").ToList();
        var orderIds = new Dictionary<string, string>();
        string email;
        await using (var app = new ExchangeApp(dataDirectory))
        {
            await app.MarketAsync();
            var trader = await app.TraderAsync();
            email = trader.Email;
            foreach (var key in keys)
            {
                var first = await ResourceEndpointTests.SendWithKey(trader, "/api/v1/engine", key, order);
                orderIds[key] = (await first.Content.ReadFromJsonAsync<JsonObject>())!["orderId"]!.GetValue<string>();
            }
            await app.Services.GetRequiredService<EventRecorder>().FlushAsync();
        }

        await using var restarted = new ExchangeApp(dataDirectory);
        await restarted.MarketAsync();
        var again = await SignInAsync(restarted, email);

        var answers = await Task.WhenAll(keys.Select(async key =>
        {
            var different = ResourceEndpointTests.SendWithKey(again, "/api/v1/engine", key, order with { margin = 30 });
            var retry = ResourceEndpointTests.SendWithKey(again, "/api/v1/engine", key, order);
            return (Key: key, Different: await different, Retry: await retry);
        }));

        foreach (var (key, different, retry) in answers)
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, different.StatusCode);
            Assert.True(retry.StatusCode == HttpStatusCode.OK, $"{key}: {await retry.Content.ReadAsStringAsync()}");
            Assert.Equal(orderIds[key], (await retry.Content.ReadFromJsonAsync<JsonObject>())!["orderId"]!.GetValue<string>());
        }
        Assert.Equal(keys.Count, (await again.GetJsonAsync("/api/v1/trades?status=open"))["trades"]!.AsArray().Count);
    }

    /// <summary>The trader signed in again on the restarted exchange.</summary>
    private static async Task<Trader> SignInAsync(ExchangeApp app, string email)
    {
        var client = app.CreateClient();
        (await client.PostAsJsonAsync("/api/v1/auth/signin", new { email, password = "correct horse battery" })).EnsureSuccessStatusCode();
        return new Trader(client, email, "", Guid.Empty);
    }
}
