using System.Diagnostics;
using Exchange.Feed.Simulated;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Exchange.Data.Tests;

public sealed class CandleBackfillTests
{
    // 2026-11-24 13:47:31.250 UTC
    private static readonly long Now = new DateTimeOffset(2026, 11, 24, 13, 47, 31, 250, TimeSpan.Zero).ToUnixTimeMilliseconds();

    private static readonly CandleBackfillOptions Options = new() { Market = new SimulatedOptions { Seed = 42 } };

    [Fact]
    public void History_ends_at_the_start_price_without_gaps_and_with_consistent_intervals()
    {
        var watch = Stopwatch.StartNew();
        var history = CandleBackfill.Generate(Options, Now);
        watch.Stop();
        Assert.InRange(history.Count, 40_000, 60_000);
        // Against a pathological slowdown only: a busy CI machine is slow too.
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), $"generating took {watch.Elapsed}");

        var nowMinute = Now / 60_000 * 60_000;
        foreach (var asset in SimulatedAsset.Defaults)
        {
            foreach (var interval in CandleInterval.All)
            {
                var candles = history.Where(c => c.Asset == asset.Symbol && c.IntervalSeconds == interval.Seconds).ToList();
                Assert.NotEmpty(candles);
                var last = candles[^1];
                Assert.Equal(asset.StartPrice, last.Close);
                Assert.Equal(interval.BucketOf(nowMinute - 1), last.OpenTimeMs);
                for (var i = 0; i < candles.Count; i++)
                {
                    var c = candles[i];
                    Assert.Equal(0, c.OpenTimeMs % interval.Milliseconds);
                    Assert.True(c.High >= Math.Max(c.Open, c.Close) && c.Low <= Math.Min(c.Open, c.Close) && c.Low > 0, c.ToString());
                    if (i == 0) continue;
                    Assert.Equal(candles[i - 1].OpenTimeMs + interval.Milliseconds, c.OpenTimeMs); // no gaps
                    Assert.Equal(candles[i - 1].Close, c.Open);                                    // continuous
                }
                // Plausible: a year of history stays within a few times the start price.
                Assert.InRange(candles.Min(c => c.Low), asset.StartPrice / 5, asset.StartPrice);
                Assert.InRange(candles.Max(c => c.High), asset.StartPrice, asset.StartPrice * 5);
            }

            var minutes = history.Where(c => c.Asset == asset.Symbol && c.IntervalSeconds == 60).ToList();
            var hours = history.Where(c => c.Asset == asset.Symbol && c.IntervalSeconds == 3_600).ToList();
            var days = history.Where(c => c.Asset == asset.Symbol && c.IntervalSeconds == 86_400).ToList();
            // At least three days of minutes, from a UTC midnight; at least a year of hours and days.
            Assert.InRange(minutes.Count, 3 * 1_440, 4 * 1_440);
            Assert.Equal(0, minutes[0].OpenTimeMs % 86_400_000);
            Assert.True(days.Count >= 365, $"{days.Count} days");
            Assert.Equal(days[0].OpenTimeMs, hours[0].OpenTimeMs);

            // Every interval is the aggregate of the finer one.
            foreach (var interval in CandleInterval.All.Where(i => i.Seconds is > 60 and <= 3_600))
            {
                var aggregated = CandleBackfill.Aggregate(minutes, interval);
                var stored = history.Where(c => c.Asset == asset.Symbol && c.IntervalSeconds == interval.Seconds && c.OpenTimeMs >= minutes[0].OpenTimeMs);
                Assert.Equal(string.Join("\n", aggregated), string.Join("\n", stored));
            }
            Assert.Equal(string.Join("\n", CandleBackfill.Aggregate(hours, CandleInterval.All[^1])), string.Join("\n", days));
        }
    }

    [Fact]
    public void The_same_seed_and_time_give_the_same_history()
    {
        var small = Options with { Recent = TimeSpan.FromDays(1), Older = TimeSpan.FromDays(5) };
        Assert.Equal(string.Join("\n", CandleBackfill.Generate(small, Now)), string.Join("\n", CandleBackfill.Generate(small, Now)));
        var other = small with { Market = new SimulatedOptions { Seed = 43 } };
        Assert.NotEqual(string.Join("\n", CandleBackfill.Generate(small, Now)), string.Join("\n", CandleBackfill.Generate(other, Now)));
    }
}

public sealed class CandleRecorderTests
{
    private static readonly string[] Assets = ["BTC_USDC", "ETH_USDC", "SOL_USDC"];

    private static CandleRecorder Recorder(TestDatabase test, CandleBackfillOptions? backfill = null) => new(
        test.Factory,
        new CandleRecorderOptions { Assets = Assets, Backfill = backfill, FlushInterval = TimeSpan.FromHours(1) },
        TimeProvider.System,
        test.Services.GetRequiredService<ILogger<CandleRecorder>>());

    private static async Task AppliedAsync(CandleRecorder recorder, long ticks)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (recorder.TicksApplied < ticks)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{recorder.TicksApplied} of {ticks} ticks applied");
            await Task.Delay(5);
        }
    }

    private static async Task<List<Candle>> StoredAsync(TestDatabase test)
    {
        await using var db = test.Context();
        return [.. (await db.Candles.AsNoTracking().ToListAsync()).OrderBy(c => c.Asset).ThenBy(c => c.IntervalSeconds).ThenBy(c => c.OpenTimeMs)];
    }

    [Fact]
    public async Task Ticks_a_full_queue_drops_are_counted()
    {
        await using var test = await TestDatabase.CreateAsync(migrate: false);
        using var recorder = new CandleRecorder(test.Factory, new CandleRecorderOptions { Assets = Assets, QueueCapacity = 1 },
            TimeProvider.System, test.Services.GetRequiredService<ILogger<CandleRecorder>>()); // not started: nothing takes from the queue

        recorder.OnTick("BTC_USDC", 95_000m, 1_000);
        recorder.OnTick("BTC_USDC", 95_001m, 2_000);
        recorder.OnTick("BTC_USDC", 95_002m, 3_000);

        Assert.Equal(2, recorder.DroppedTicks);
    }

    [Fact]
    public async Task Candles_round_trip_through_SQLite_and_a_restart_continues_the_open_ones()
    {
        await using var test = await TestDatabase.CreateAsync();
        const long minute = 1_699_920_000_000; // a UTC midnight
        var recorder = Recorder(test);
        await recorder.StartAsync(CancellationToken.None);
        await recorder.Ready.WaitAsync(TimeSpan.FromSeconds(10));
        recorder.OnTick("BTC_USDC", 95_000.12345678m, minute + 1_000);
        recorder.OnTick("BTC_USDC", 95_100m, minute + 2_000);
        recorder.OnTick("BTC_USDC", 94_900.5m, minute + 3_000);
        recorder.OnTick("BTC_USDC", 95_050m, minute + 60_000); // closes the first minute
        await AppliedAsync(recorder, 4);
        await recorder.FlushAsync();

        var stored = await StoredAsync(test);
        Assert.Equal(7, stored.Count); // two 1m, one of each other interval
        var first = stored.Single(c => c.IntervalSeconds == 60 && c.OpenTimeMs == minute);
        Assert.Equal((95_000.12345678m, 95_100m, 94_900.5m, 94_900.5m), (first.Open, first.High, first.Low, first.Close));
        var day = stored.Single(c => c.IntervalSeconds == 86_400);
        Assert.Equal((95_000.12345678m, 95_100m, 94_900.5m, 95_050m), (day.Open, day.High, day.Low, day.Close));

        // A tick after the flush, written by the stop.
        recorder.OnTick("BTC_USDC", 96_000m, minute + 61_000);
        await AppliedAsync(recorder, 5);
        await recorder.StopAsync(CancellationToken.None);
        recorder.Dispose();
        Assert.Equal(96_000m, (await StoredAsync(test)).Single(c => c.IntervalSeconds == 86_400).High);

        // A new run loads the open candles and continues them: the day's open stays the first run's.
        var restarted = Recorder(test, backfill: new CandleBackfillOptions { Market = new SimulatedOptions() });
        await restarted.StartAsync(CancellationToken.None);
        await restarted.Ready.WaitAsync(TimeSpan.FromSeconds(10));
        await restarted.Backfilled.WaitAsync(TimeSpan.FromSeconds(10)); // not needed: there are candles
        Assert.Equal(95_050m, restarted.OpenCandle("BTC_USDC", CandleInterval.All[0])!.Open);
        restarted.OnTick("BTC_USDC", 94_000m, minute + 62_000);
        await AppliedAsync(restarted, 1);
        var days = await restarted.QueryAsync("BTC_USDC", CandleInterval.All[^1], 0, long.MaxValue, 10);
        Assert.Equal((95_000.12345678m, 96_000m, 94_000m, 94_000m), (days[0].Open, days[0].High, days[0].Low, days[0].Close));
        await restarted.FlushAsync();
        await restarted.StopAsync(CancellationToken.None);
        restarted.Dispose();

        stored = await StoredAsync(test);
        Assert.Equal(7, stored.Count); // upserted in place, no backfill
        var minutes = stored.Where(c => c.IntervalSeconds == 60).ToList();
        Assert.Equal((95_050m, 96_000m, 94_000m, 94_000m), (minutes[1].Open, minutes[1].High, minutes[1].Low, minutes[1].Close));
    }

    [Fact]
    public async Task Queries_merge_stored_and_unwritten_candles_and_keep_the_last_limit_oldest_first()
    {
        await using var test = await TestDatabase.CreateAsync();
        const long start = 1_699_920_000_000;
        var recorder = Recorder(test);
        await recorder.StartAsync(CancellationToken.None);
        for (var i = 0; i < 10; i++) recorder.OnTick("SOL_USDC", 240m + i, start + i * 60_000);
        await AppliedAsync(recorder, 10);
        await recorder.FlushAsync();
        for (var i = 10; i < 15; i++) recorder.OnTick("SOL_USDC", 240m + i, start + i * 60_000); // not written yet
        await AppliedAsync(recorder, 15);

        var minute = CandleInterval.All[0];
        var all = await recorder.QueryAsync("SOL_USDC", minute, 0, long.MaxValue, 1_000);
        Assert.Equal(Enumerable.Range(0, 15).Select(i => start + i * 60_000L), all.Select(c => c.OpenTimeMs));
        Assert.Equal(Enumerable.Range(0, 15).Select(i => 240m + i), all.Select(c => c.Close));

        var last = await recorder.QueryAsync("SOL_USDC", minute, 0, long.MaxValue, 7);
        Assert.Equal(Enumerable.Range(8, 7).Select(i => start + i * 60_000L), last.Select(c => c.OpenTimeMs));

        var range = await recorder.QueryAsync("SOL_USDC", minute, start + 3 * 60_000, start + 11 * 60_000, 4);
        Assert.Equal(Enumerable.Range(8, 4).Select(i => start + i * 60_000L), range.Select(c => c.OpenTimeMs));

        Assert.Empty(await recorder.QueryAsync("ETH_USDC", minute, 0, long.MaxValue, 10));
        Assert.Empty(await recorder.QueryAsync("SOL_USDC", minute, start + 20 * 60_000, long.MaxValue, 10));
        await recorder.StopAsync(CancellationToken.None);
        recorder.Dispose();
    }

    [Fact]
    public async Task An_empty_database_gets_the_backfill_in_the_background_and_live_ticks_continue_it()
    {
        await using var test = await TestDatabase.CreateAsync();
        var options = new CandleBackfillOptions { Market = new SimulatedOptions() };
        var recorder = Recorder(test, options);
        var watch = Stopwatch.StartNew();
        await recorder.StartAsync(CancellationToken.None);
        await recorder.Ready.WaitAsync(TimeSpan.FromSeconds(30));
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        recorder.OnTick("BTC_USDC", 95_001m, now);
        await recorder.Backfilled.WaitAsync(TimeSpan.FromSeconds(30));
        watch.Stop();
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), $"backfill took {watch.Elapsed}"); // a pathological slowdown only

        await using (var db = test.Context())
        {
            var count = await db.Candles.CountAsync();
            Assert.InRange(count, 40_000, 60_000);
            Assert.Equal(Assets.Length * CandleInterval.All.Count,
                await db.Candles.Select(c => new { c.Asset, c.IntervalSeconds }).Distinct().CountAsync());
        }

        await AppliedAsync(recorder, 1);
        var hours = await recorder.QueryAsync("BTC_USDC", CandleInterval.All[3], 0, long.MaxValue, 500);
        Assert.Equal(500, hours.Count);
        Assert.Equal(CandleInterval.All[3].BucketOf(now), hours[^1].OpenTimeMs);
        Assert.Equal(95_001m, hours[^1].Close);
        for (var i = 1; i < hours.Count; i++) Assert.Equal(hours[i - 1].OpenTimeMs + 3_600_000, hours[i].OpenTimeMs);

        var minutes = await recorder.QueryAsync("BTC_USDC", CandleInterval.All[0], 0, long.MaxValue, 2);
        if (minutes[^1].OpenTimeMs == CandleInterval.All[0].BucketOf(now)) // not when the minute turned while starting
        {
            Assert.Equal(95_000m, minutes[0].Close); // the history ends at the start price
            Assert.Equal(95_001m, minutes[1].Open);
        }
        await recorder.StopAsync(CancellationToken.None);
        recorder.Dispose();
    }
}
