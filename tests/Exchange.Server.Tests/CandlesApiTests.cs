using System.Net;
using System.Text.Json.Nodes;
using Exchange.Data;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Exchange.Server.Tests;

/// <summary>GET /api/v1/candles: validation, candles from the ticks, persistence across a restart, the backfill.</summary>
public sealed class CandlesApiTests : IAsyncLifetime
{
    private readonly ExchangeApp _app = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Theory]
    [InlineData("interval=1m", "UNKNOWN_ASSET")]
    [InlineData("asset=DOGE_USDC&interval=1m", "UNKNOWN_ASSET")]
    [InlineData("asset=BTC_USDC", "INVALID_INTERVAL")]
    [InlineData("asset=BTC_USDC&interval=2m", "INVALID_INTERVAL")]
    [InlineData("asset=BTC_USDC&interval=1M", "INVALID_INTERVAL")]
    [InlineData("asset=BTC_USDC&interval=1m&from=2000&to=1000", "INVALID_RANGE")]
    [InlineData("asset=BTC_USDC&interval=1m&from=-1", "INVALID_RANGE")]
    [InlineData("asset=BTC_USDC&interval=1m&to=soon", "INVALID_RANGE")]
    [InlineData("asset=BTC_USDC&interval=1m&from=1e3", "INVALID_RANGE")]
    [InlineData("asset=BTC_USDC&interval=1m&to=99999999999999999999", "INVALID_RANGE")]
    [InlineData("asset=BTC_USDC&interval=1m&limit=1001", "INVALID_LIMIT")]
    [InlineData("asset=BTC_USDC&interval=1m&limit=0", "INVALID_LIMIT")]
    [InlineData("asset=BTC_USDC&interval=1m&limit=-5", "INVALID_LIMIT")]
    [InlineData("asset=BTC_USDC&interval=1m&limit=ten", "INVALID_LIMIT")]
    public async Task Bad_queries_are_400_problems_with_a_code(string query, string code)
    {
        var response = await _app.CreateClient().GetAsync($"/api/v1/candles?{query}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.ProblemAsync();
        Assert.Equal(code, problem["code"]!.GetValue<string>());
        Assert.Equal(400, problem["status"]!.GetValue<int>());
    }

    [Fact]
    public async Task Ticks_make_the_candle_the_API_returns_without_signing_in()
    {
        _ = _app.Services; // started first: on a busy machine the start alone can take seconds
        await WithSecondsLeftInTheMinuteAsync(20);
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await _app.TickAsync("BTC_USDC", 95_000.5m, 95_010m);
        await _app.TickAsync("BTC_USDC", 95_500m, 95_510m);
        await _app.TickAsync("BTC_USDC", 94_800.12345678m, 94_810m);
        await _app.TickAsync("BTC_USDC", 95_100m, 95_110m);
        await _app.TickAsync("ETH_USDC", 3_499m, 3_500m);
        var bucket = before / 60_000 * 60_000;

        var client = _app.CreateClient();
        foreach (var interval in new[] { "1m", "1h", "1d" })
        {
            var candles = await EventuallyAsync(client, $"/api/v1/candles?asset=btc_usdc&interval={interval}",
                c => c.Count == 1 && c[0]!["close"].Dec() == 95_100m);
            var candle = candles[0]!;
            Assert.Equal(interval == "1m" ? bucket : interval == "1h" ? before / 3_600_000 * 3_600_000 : before / 86_400_000 * 86_400_000,
                candle["time"]!.GetValue<long>());
            Assert.Equal(95_000.5m, candle["open"].Dec());
            Assert.Equal(95_500m, candle["high"].Dec());
            Assert.Equal(94_800.12345678m, candle["low"].Dec());
            Assert.Equal(["time", "open", "high", "low", "close"], candle.AsObject().Select(p => p.Key));
        }

        // from/to select by open time; another asset has its own candles.
        Assert.Empty(await GetArrayAsync(client, $"/api/v1/candles?asset=BTC_USDC&interval=1m&from={bucket + 1}"));
        Assert.Single(await GetArrayAsync(client, $"/api/v1/candles?asset=BTC_USDC&interval=1m&from={bucket}&to={bucket}&limit=1"));
        Assert.Empty(await GetArrayAsync(client, $"/api/v1/candles?asset=BTC_USDC&interval=1m&to={bucket - 1}"));
        var eth = await EventuallyAsync(client, "/api/v1/candles?asset=ETH_USDC&interval=5m", c => c.Count == 1);
        Assert.Equal(3_499m, eth[0]!["close"].Dec());
    }

    [Fact]
    public async Task Candles_survive_a_restart()
    {
        await WithSecondsLeftInTheMinuteAsync(30); // two starts and a stop
        using var folder = new TempDataFolder("exchange-candles-");
        var dataDirectory = folder.Path;
        await using (var app = new ExchangeApp(dataDirectory))
        {
            await app.TickAsync("SOL_USDC", 240.5m, 240.6m);
            await app.TickAsync("SOL_USDC", 241m, 241.1m);
            await EventuallyAsync(app.CreateClient(), "/api/v1/candles?asset=SOL_USDC&interval=15m", c => c.Count == 1 && c[0]!["close"].Dec() == 241m);
        } // stopping writes the open candles

        await using var restarted = new ExchangeApp(dataDirectory);
        await restarted.TickAsync("SOL_USDC", 239m, 239.1m);
        var candles = await EventuallyAsync(restarted.CreateClient(), "/api/v1/candles?asset=SOL_USDC&interval=15m",
            c => c.Count == 1 && c[0]!["close"].Dec() == 239m);
        Assert.Equal(240.5m, candles[0]!["open"].Dec());
        Assert.Equal(241m, candles[0]!["high"].Dec());
        Assert.Equal(239m, candles[0]!["low"].Dec());
    }

    [Fact]
    public async Task A_new_exchange_has_a_year_of_history_ending_at_the_simulated_start_price()
    {
        await using var app = new ExchangeApp();
        await using var withHistory = app.WithWebHostBuilder(b => b.UseSetting("CANDLE_BACKFILL", "true"));
        var client = withHistory.CreateClient();
        await withHistory.Services.GetRequiredService<CandleRecorder>().Backfilled.WaitAsync(TimeSpan.FromSeconds(60));

        var days = await GetArrayAsync(client, "/api/v1/candles?asset=ETH_USDC&interval=1d&limit=1000");
        Assert.InRange(days.Count, 366, 370);
        var hours = await GetArrayAsync(client, "/api/v1/candles?asset=ETH_USDC&interval=1h");
        Assert.Equal(500, hours.Count);
        var minutes = await GetArrayAsync(client, "/api/v1/candles?asset=ETH_USDC&interval=1m&limit=1");
        Assert.Equal(3_500m, minutes[0]!["close"].Dec()); // where the simulated feed starts
        for (var i = 1; i < hours.Count; i++)
        {
            Assert.Equal(hours[i - 1]!["time"]!.GetValue<long>() + 3_600_000, hours[i]!["time"]!.GetValue<long>());
            Assert.Equal(hours[i - 1]!["close"].Dec(), hours[i]!["open"].Dec());
        }
    }

    [Fact]
    public async Task Under_a_real_exchanges_prices_no_history_is_invented()
    {
        await using var app = new ExchangeApp();
        await using var realPrices = app.WithWebHostBuilder(b => b.UseSetting("CANDLE_BACKFILL", "true").UseSetting("POLLER_SOURCE", "binance"));
        var client = realPrices.CreateClient();
        await realPrices.Services.GetRequiredService<CandleRecorder>().Backfilled.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Empty(await GetArrayAsync(client, "/api/v1/candles?asset=ETH_USDC&interval=1d&limit=1000"));
    }

    /// <summary>
    /// Until at least <paramref name="seconds"/> are left in the current minute (and so in every
    /// longer bucket), so that every tick of the test lands in one bucket and the expected candle is known.
    /// </summary>
    private static async Task WithSecondsLeftInTheMinuteAsync(int seconds)
    {
        var intoMinute = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() % 60_000;
        if (intoMinute > 60_000 - seconds * 1_000) await Task.Delay(TimeSpan.FromMilliseconds(60_100 - intoMinute));
    }

    private static async Task<JsonArray> GetArrayAsync(HttpClient client, string url)
    {
        var response = await client.GetAsync(url);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{url}: {response.StatusCode}: {text}");
        return JsonNode.Parse(text)!.AsArray();
    }

    /// <summary>Ticks reach the candles through a queue: ask until the answer looks right (or give up after a while).</summary>
    private static async Task<JsonArray> EventuallyAsync(HttpClient client, string url, Func<JsonArray, bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var candles = await GetArrayAsync(client, url);
            if (done(candles) || DateTime.UtcNow > deadline) return candles;
            await Task.Delay(20);
        }
    }
}
