using Exchange.Feed.Simulated;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Exchange.Data.Tests;

/// <summary>The candle table, its upsert and the backfill on a real PostgreSQL.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresCandleTests(PostgresServer server)
{
    [PostgresFact]
    public async Task Backfill_then_ticks_upsert_the_open_candles()
    {
        await using var test = await TestDatabase.CreateAsync(databaseUrl: server.NewDatabaseUrl());
        var options = new CandleRecorderOptions
        {
            Assets = ["BTC_USDC", "ETH_USDC", "SOL_USDC"],
            FlushInterval = TimeSpan.FromHours(1),
            Backfill = new CandleBackfillOptions
            {
                Market = new SimulatedOptions(), Recent = TimeSpan.FromDays(1), Older = TimeSpan.FromDays(10),
            },
        };
        var recorder = new CandleRecorder(test.Factory, options, TimeProvider.System,
            test.Services.GetRequiredService<ILogger<CandleRecorder>>());
        await recorder.StartAsync(CancellationToken.None);
        await recorder.Backfilled.WaitAsync(TimeSpan.FromSeconds(60));
        int backfilled;
        await using (var db = test.Context()) backfilled = await db.Candles.CountAsync();
        Assert.True(backfilled > 1_000, $"{backfilled} candles");

        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        recorder.OnTick("SOL_USDC", 250.12345678m, now);
        recorder.OnTick("SOL_USDC", 230m, now + 1);
        while (recorder.TicksApplied < 2) await Task.Delay(5);
        await recorder.FlushAsync();
        await recorder.StopAsync(CancellationToken.None);
        recorder.Dispose();

        await using (var db = test.Context())
        {
            var day = await db.Candles.Where(c => c.Asset == "SOL_USDC" && c.IntervalSeconds == 86_400)
                .OrderByDescending(c => c.OpenTimeMs).FirstAsync();
            Assert.Equal(CandleInterval.All[^1].BucketOf(now), day.OpenTimeMs);
            Assert.Equal(230m, day.Close);
            Assert.True(day.High >= 250.12345678m && day.Low <= 230m);
            var columnType = await db.Database.SqlQueryRaw<string>(
                "SELECT data_type || '(' || numeric_precision || ',' || numeric_scale || ')' AS \"Value\" FROM information_schema.columns WHERE table_name = 'Candles' AND column_name = 'High'")
                .SingleAsync();
            Assert.Equal("numeric(28,8)", columnType);
            // The tick's minute is after the history: a new 1m candle, and new longer ones where that minute starts their bucket.
            Assert.InRange(await db.Candles.CountAsync(), backfilled + 1, backfilled + CandleInterval.All.Count);
        }
    }
}
