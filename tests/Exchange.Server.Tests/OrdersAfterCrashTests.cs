using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Exchange.Server.Tests;

/// <summary>
/// The real server killed with SIGKILL right after answering: orders the recorder had not
/// written yet come back from the journal, so a trader can still look each one up, and a retry
/// under its Idempotency-Key is answered with the first outcome instead of trading again.
/// </summary>
public sealed class OrdersAfterCrashTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("exchange-orders-crash-").FullName;

    private string DatabaseFile => Path.Combine(_dir, "exchange.db");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task After_a_sigkill_every_answered_order_is_found_and_a_keyed_retry_never_trades_twice()
    {
        const int trades = 12;
        var sent = new List<(string Key, string OrderId, string TradeId)>();
        string token;
        await using (var server = await ServerRun.StartAsync(StartupRefusalTests.Settings(_dir)))
        {
            using var client = Client(server);
            token = await SignUpAsync(client);
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
            var account = await client.PostAsJsonAsync("/api/v1/engine", new { command = "CREATE_ACCOUNT" });
            account.EnsureSuccessStatusCode();
            // Written before the lock is taken: order entry's first flush of the audit trail is behind us.
            await OrderAsync(client, (await account.Content.ReadFromJsonAsync<JsonObject>())!["orderId"]!.GetValue<string>());
            await WaitForPricesAsync(client);
            // The database stuck (its write lock held elsewhere) while the trades are answered, as
            // when the recorder is behind: the engine never waits for it, so none is written before the kill.
            await using var stuck = await DatabaseWriteLock.TakeAsync(DatabaseFile);
            for (var i = 0; i < trades; i++)
            {
                var key = $"open-{i}";
                var reply = await OpenAsync(client, key);
                sent.Add((key, reply["orderId"]!.GetValue<string>(), reply["engineResponse"]!["data"]!["tradeId"]!.GetValue<string>()));
            }
            await server.KillAsync();
        }
        Assert.Equal(0, await OrdersInDatabaseAsync());

        await using (var restarted = await ServerRun.StartAsync(StartupRefusalTests.Settings(_dir)))
        {
            using var client = Client(restarted);
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
            foreach (var (key, orderId, tradeId) in sent)
            {
                var order = await OrderAsync(client, orderId);
                Assert.Equal(("CREATE_TRADE", "success", tradeId), (order["command"]!.GetValue<string>(), order["status"]!.GetValue<string>(),
                    order["data"]!["tradeId"]!.GetValue<string>()));

                var retry = await OpenAsync(client, key);
                Assert.Equal((orderId, tradeId), (retry["orderId"]!.GetValue<string>(), retry["engineResponse"]!["data"]!["tradeId"]!.GetValue<string>()));
            }
            var open = (await client.GetFromJsonAsync<JsonObject>("/api/v1/trades?status=open"))!["trades"]!.AsArray();
            Assert.Equal(sent.Select(s => s.TradeId).Order(), open.Select(t => t!["tradeId"]!.GetValue<string>()).Order());

            // Recovery waited for the migration (and the recorder's cursors): it re-made only the missing rows.
            var output = restarted.Output;
            var (migrated, recovered) = (output.IndexOf("Database ready", StringComparison.Ordinal), output.IndexOf("Recovered", StringComparison.Ordinal));
            Assert.True(migrated >= 0 && recovered > migrated, output);
        }
    }

    private async Task<long> OrdersInDatabaseAsync()
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={DatabaseFile};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var count = connection.CreateCommand();
        count.CommandText = "SELECT COUNT(*) FROM \"Orders\" WHERE \"Command\" = 'CREATE_TRADE'";
        return (long)(await count.ExecuteScalarAsync())!;
    }

    private static async Task<JsonObject> OrderAsync(HttpClient client, string orderId)
    {
        var response = await client.GetAsync($"/api/v1/orders/{orderId}");
        Assert.True(response.IsSuccessStatusCode, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    internal static HttpClient Client(ServerRun server) => new() { BaseAddress = server.Address, Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>CREATE_TRADE through the engine endpoint, whose envelope names the order.</summary>
    private static async Task<JsonObject> OpenAsync(HttpClient client, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/engine")
        {
            Content = JsonContent.Create(new { command = "CREATE_TRADE", asset = "BTC_USDC", direction = "LONG", margin = 10, leverage = 5 }),
        };
        request.Headers.Add("Idempotency-Key", key);
        var reply = await client.SendAsync(request);
        var body = await reply.Content.ReadAsStringAsync();
        Assert.True(reply.StatusCode == HttpStatusCode.OK, body);
        return JsonNode.Parse(body)!.AsObject();
    }

    internal static async Task<string> SignUpAsync(HttpClient client)
    {
        var signup = await client.PostAsJsonAsync("/api/v1/auth/signup", new { email = "crash@example.com", password = "correct horse battery" });
        signup.EnsureSuccessStatusCode();
        return (await signup.Content.ReadFromJsonAsync<JsonObject>())!["token"]!.GetValue<string>();
    }

    private static async Task WaitForPricesAsync(HttpClient client)
    {
        for (var i = 0; i < 100 && (await client.GetAsync("/readyz")).StatusCode != HttpStatusCode.OK; i++) await Task.Delay(100);
    }
}
