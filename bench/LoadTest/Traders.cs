using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Exchange.LoadTest;

/// <summary>A signed-up, funded trader and the trades it has open (ids from CREATE_TRADE replies).</summary>
public sealed class Trader(string email, string token)
{
    private readonly Stack<string> _open = new();

    public string Email { get; } = email;
    public string Token { get; } = token;
    public AuthenticationHeaderValue Authorization { get; } = new("Bearer", token);

    public string? TakeOpenTrade()
    {
        lock (_open) return _open.TryPop(out var id) ? id : null;
    }

    public void AddOpenTrade(string tradeId)
    {
        lock (_open) _open.Push(tradeId);
    }
}

public static class TraderSetup
{
    /// <summary>Signs up <paramref name="count"/> fresh traders and sends CREATE_ACCOUNT for each.</summary>
    public static async Task<Trader[]> CreateAsync(HttpClient client, Uri baseUrl, int count, int concurrency)
    {
        // A run id keeps emails unique, so the generator can run again against the same server.
        var runId = DateTime.UtcNow.ToString("yyyyMMddHHmmss", System.Globalization.CultureInfo.InvariantCulture) + Random.Shared.Next(1000, 9999);
        var traders = new Trader[count];
        var signup = new Uri(baseUrl, "/api/v1/auth/signup");
        var engine = new Uri(baseUrl, "/api/v1/engine");
        var done = 0;
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (i, ct) =>
        {
            var email = $"load-{runId}-{i}@example.com";
            var credentials = JsonSerializer.Serialize(new Dictionary<string, string> { ["email"] = email, ["password"] = "load-test-password" });
            using var response = await client.PostAsync(signup, new StringContent(credentials, Encoding.UTF8, "application/json"), ct);
            var body = await response.Content.ReadAsStringAsync(ct);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
                throw new InvalidOperationException("Sign-up was rate limited: start the server with AUTH_RATE_LIMIT_PER_MINUTE=1000000.");
            if (!response.IsSuccessStatusCode)
                throw new InvalidOperationException($"Sign-up of {email} failed: {(int)response.StatusCode} {body}");
            using var json = JsonDocument.Parse(body);
            var trader = new Trader(email, json.RootElement.GetProperty("token").GetString()!);

            using var create = new HttpRequestMessage(HttpMethod.Post, engine)
            {
                Content = new StringContent("""{"command":"CREATE_ACCOUNT"}""", Encoding.UTF8, "application/json"),
            };
            create.Headers.Authorization = trader.Authorization;
            using var created = await client.SendAsync(create, ct);
            if (!created.IsSuccessStatusCode)
                throw new InvalidOperationException($"CREATE_ACCOUNT for {email} failed: {(int)created.StatusCode} {await created.Content.ReadAsStringAsync(ct)}");
            traders[i] = trader;
            var n = Interlocked.Increment(ref done);
            if (n % 100 == 0) Console.Error.WriteLine($"  {n}/{count} traders ready");
        });
        return traders;
    }
}
