using Exchange.Engine;
using Exchange.Feed.Replay;

namespace Exchange.Feed.Tests;

public sealed class ReplayPriceSourceTests : IDisposable
{
    private static readonly string[] AllAssets = ["BTC_USDC", "ETH_USDC", "SOL_USDC"];
    private readonly ManualTime _time = new();
    private readonly List<string> _files = [];

    public void Dispose()
    {
        foreach (var file in _files)
            File.Delete(file);
    }

    private string WriteFile(params string[] lines)
    {
        var path = Path.GetTempFileName();
        _files.Add(path);
        File.WriteAllLines(path, lines);
        return path;
    }

    private static Price P(decimal value) => Price.FromDecimal(value);

    // 1,735,689,600,000 ms is 2025-01-01T00:00:00Z: the two formats mix freely.
    private static readonly string[] MixedFile =
    [
        "timestamp,asset,bid,ask",
        "1735689600000,BTC_USDC,95000.01,95000.02",
        "2025-01-01T00:00:00Z,ETH_USDC,3500.12,3500.13",
        "2025-01-01T00:00:00.500Z,BTC_USDC,95010.00000001,95010.5",
        "",
        "1735689601500,btc_usdc,94990,94991",
        "2025-01-01T00:00:01.5+00:00,SOL_USDC,240.123,240.124",
    ];

    [Fact]
    public void Both_timestamp_formats_are_read_row_by_row()
    {
        var rows = ReplayFile.Parse(MixedFile, AllAssets);
        Assert.Equal(
            [(0L, "BTC_USDC", P(95000.01m), P(95000.02m), 2), (0L, "ETH_USDC", P(3500.12m), P(3500.13m), 3),
             (500L, "BTC_USDC", P(95010.00000001m), P(95010.5m), 4), (1_500L, "BTC_USDC", P(94990), P(94991), 6),
             (1_500L, "SOL_USDC", P(240.123m), P(240.124m), 7)],
            rows.Select(r => (r.OffsetMs, r.Symbol, r.Bid, r.Ask, r.Line)));
    }

    [Theory]
    [InlineData("1735689600000", 1735689600000L)]
    [InlineData("2025-01-01T00:00:00Z", 1735689600000L)]
    [InlineData("2025-01-01T00:00:00.123Z", 1735689600123L)]
    [InlineData("2025-01-01T01:00:00.123+01:00", 1735689600123L)]
    [InlineData("2025-01-01T00:00:00", 1735689600000L)] // written without a zone: the format says UTC
    [InlineData("2025-01-01T00:00Z", 1735689600000L)]
    [InlineData("2025-01-01 00:00:00Z", 1735689600000L)]
    public void Timestamps_are_unix_milliseconds_or_iso_8601(string text, long ms) =>
        Assert.Equal(ms, ReplayFile.ParseTimestamp(text));

    [Fact]
    public async Task Rows_play_at_their_relative_times_from_the_start_then_the_last_prices_are_held()
    {
        var source = new ReplayPriceSource(ReplayFile.Parse(MixedFile, AllAssets), TimeSpan.FromSeconds(1), _time);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await using var quotes = source.ReadAsync(cts.Token).GetAsyncEnumerator(cts.Token);
        var start = _time.GetUtcNow().ToUnixTimeMilliseconds();

        async Task<(string, decimal, decimal, long)> Next()
        {
            Assert.True(await quotes.MoveNextAsync());
            var q = quotes.Current;
            return (q.Symbol, q.Bid.ToDecimal(), q.Ask.ToDecimal(), q.TimestampMs - start);
        }

        // Both rows at the file's first instant play at once.
        Assert.Equal(("BTC_USDC", 95000.01m, 95000.02m, 0L), await Next());
        Assert.Equal(("ETH_USDC", 3500.12m, 3500.13m, 0L), await Next());

        var waiting = quotes.MoveNextAsync().AsTask();
        _time.Advance(TimeSpan.FromMilliseconds(499));
        Assert.False(waiting.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(await waiting);
        Assert.Equal(("BTC_USDC", 95010.00000001m, 95010.5m, 500L), (quotes.Current.Symbol, quotes.Current.Bid.ToDecimal(),
            quotes.Current.Ask.ToDecimal(), quotes.Current.TimestampMs - start));

        waiting = quotes.MoveNextAsync().AsTask();
        _time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.False(waiting.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(await waiting);
        Assert.Equal(("BTC_USDC", 1_500L), (quotes.Current.Symbol, quotes.Current.TimestampMs - start));
        Assert.Equal(("SOL_USDC", 240.123m, 240.124m, 1_500L), await Next());

        // The end: every asset's last quote again each interval (1 s), for as long as the feed runs.
        for (var hold = 1; hold <= 3; hold++)
        {
            waiting = quotes.MoveNextAsync().AsTask();
            _time.Advance(TimeSpan.FromMilliseconds(999));
            Assert.False(waiting.IsCompleted);
            _time.Advance(TimeSpan.FromMilliseconds(1));
            Assert.True(await waiting);
            var held = new[] { quotes.Current }.Concat([await NextQuote(quotes), await NextQuote(quotes)])
                .Select(q => (q.Symbol, q.Bid.ToDecimal(), q.Ask.ToDecimal(), q.TimestampMs - start));
            var at = 1_500L + hold * 1_000L;
            Assert.Equal([("BTC_USDC", 94990m, 94991m, at), ("ETH_USDC", 3500.12m, 3500.13m, at), ("SOL_USDC", 240.123m, 240.124m, at)],
                held.OrderBy(q => q.Symbol));
        }
    }

    private static async Task<Quote> NextQuote(IAsyncEnumerator<Quote> quotes)
    {
        Assert.True(await quotes.MoveNextAsync());
        return quotes.Current;
    }

    [Fact]
    public async Task A_source_moved_to_another_clock_plays_the_same_rows_on_that_clock()
    {
        var checkedAtStart = new ReplayPriceSource(ReplayFile.Parse(MixedFile, AllAssets), TimeSpan.FromSeconds(1));
        var source = checkedAtStart.WithClock(_time);
        Assert.Same(checkedAtStart.Rows, source.Rows);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await using var quotes = source.ReadAsync(cts.Token).GetAsyncEnumerator(cts.Token);
        var start = _time.GetUtcNow().ToUnixTimeMilliseconds();
        await NextQuote(quotes);
        await NextQuote(quotes);
        var waiting = quotes.MoveNextAsync().AsTask();
        Assert.False(waiting.IsCompleted); // due 500 ms into the replay, on the manual clock
        _time.Advance(TimeSpan.FromMilliseconds(500));
        Assert.True(await waiting);
        Assert.Equal(500L, quotes.Current.TimestampMs - start);
    }

    [Fact]
    public async Task A_late_reader_catches_up_instead_of_drifting()
    {
        var source = new ReplayPriceSource(ReplayFile.Parse(MixedFile, AllAssets), TimeSpan.FromSeconds(1), _time);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await using var quotes = source.ReadAsync(cts.Token).GetAsyncEnumerator(cts.Token);
        await NextQuote(quotes);
        await NextQuote(quotes);
        _time.Advance(TimeSpan.FromSeconds(5)); // nobody read for a while: the rest is due at once
        for (var i = 0; i < 3; i++)
            await NextQuote(quotes);
        var overdue = quotes.MoveNextAsync().AsTask();
        Assert.True(overdue.IsCompleted, "the first hold (at 2.5 s) is overdue too");
        Assert.True(await overdue);
    }

    [Fact]
    public void Rows_for_assets_not_selected_are_left_out_but_still_checked()
    {
        var rows = ReplayFile.Parse(MixedFile, ["SOL_USDC"]);
        Assert.Equal([(1_500L, "SOL_USDC")], rows.Select(r => (r.OffsetMs, r.Symbol)));

        string[] badOther = [.. MixedFile, "1735689602000,DOGE_USDC,2,1"];
        Assert.Contains("line 8", Assert.Throws<FeedConfigurationException>(() => ReplayFile.Parse(badOther, ["SOL_USDC"])).Message);
    }

    [Theory]
    [InlineData(1, "", "empty")]
    [InlineData(1, "time,asset,bid,ask", "header")]
    [InlineData(3, "1735689600000,BTC_USDC,95000", "4 fields")]
    [InlineData(3, "1735689600000,BTC_USDC,95000,95001,1", "4 fields")]
    [InlineData(3, "yesterday,BTC_USDC,95000,95001", "timestamp 'yesterday'")]
    [InlineData(3, "2025-13-01T00:00:00Z,BTC_USDC,95000,95001", "timestamp")]
    [InlineData(3, "-5,BTC_USDC,95000,95001", "timestamp")]
    [InlineData(3, "1735689599999,BTC_USDC,95000,95001", "back in time")]
    [InlineData(3, "1735689600000,,95000,95001", "no asset")]
    [InlineData(3, "1735689600000,BTC_USDC,95000.000000001,95001", "bid '95000.000000001'")]
    [InlineData(3, "1735689600000,BTC_USDC,95000,abc", "ask 'abc'")]
    [InlineData(3, "1735689600000,BTC_USDC,95002,95001", "not a valid book")]
    [InlineData(3, "1735689600000,BTC_USDC,95001,95001", "not a valid book")]
    [InlineData(3, "1735689600000,BTC_USDC,0,95001", "not a valid book")]
    public void A_bad_file_fails_at_start_naming_the_line(int line, string row, string problem)
    {
        var path = line == 1
            ? WriteFile(row)
            : WriteFile("timestamp,asset,bid,ask", "1735689600000,ETH_USDC,3500,3501", row, "1735689700000,ETH_USDC,3500,3501");
        var options = new FeedOptions { Source = "replay:" + path };

        var e = Assert.Throws<FeedConfigurationException>(() => PriceSources.Create(options, _time));

        Assert.Equal("POLLER_SOURCE", e.Variable);
        Assert.Contains(path, e.Message);
        Assert.Contains(problem, e.Message);
        if (problem != "empty")
            Assert.Contains($"line {line}:", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void A_missing_file_or_one_without_the_selected_assets_fails_at_start()
    {
        var missing = Assert.Throws<FeedConfigurationException>(() =>
            PriceSources.Create(new FeedOptions { Source = "replay:/no/such/prices.csv" }));
        Assert.Contains("/no/such/prices.csv", missing.Message);

        var path = WriteFile("timestamp,asset,bid,ask", "1735689600000,ETH_USDC,3500,3501");
        var none = Assert.Throws<FeedConfigurationException>(() =>
            PriceSources.Create(new FeedOptions { Source = "replay:" + path, Assets = ["BTC_USDC"] }));
        Assert.Contains("no rows for BTC_USDC", none.Message);
    }

    [Fact]
    public async Task Through_the_feed_a_replay_reaches_the_engine_and_stays_fresh_after_its_end()
    {
        var path = WriteFile("timestamp,asset,bid,ask", "2025-01-01T00:00:00Z,BTC_USDC,95000,95001", "2025-01-01T00:00:02Z,BTC_USDC,95100,95101");
        var options = new FeedOptions { Source = "replay:" + path, Assets = ["BTC_USDC"], UpdateIntervalMs = 1_000, StaleAfterMs = 3_000 };
        var start = _time.GetUtcNow();
        var ticks = new System.Collections.Concurrent.ConcurrentQueue<(double AtMs, decimal Bid)>();
        var feed = new PriceFeed(PriceSources.Create(options, _time),
            (_, bid, _) => ticks.Enqueue(((_time.GetUtcNow() - start).TotalMilliseconds, bid.ToDecimal())), options, time: _time);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var running = feed.RunAsync(stop.Token);

        void WaitFor(Func<bool> condition)
        {
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (!condition())
            {
                Assert.True(DateTime.UtcNow < deadline, $"timed out: {feed.Stats}, ticks {string.Join(", ", ticks)}");
                Thread.Sleep(1);
            }
        }

        WaitFor(() => ticks.Count == 1 && _time.ActiveTimers >= 2);
        // Second by second, letting the feed's loops catch up each time (the machine may be busy):
        // rows at 0 s and 2 s, then a held quote every second from 3 s. Time moves only while both
        // loops wait on a timer again, so a busy machine cannot make the source miss a beat.
        for (var second = 1; second <= 10; second++)
        {
            for (var step = 0; step < 10; step++)
            {
                WaitFor(() => _time.ActiveTimers >= 2);
                _time.Advance(TimeSpan.FromMilliseconds(100));
                Thread.Sleep(1);
            }
            var expected = 1 + (second >= 2 ? 1 : 0) + Math.Max(0, second - 2);
            WaitFor(() => feed.Stats.Received >= expected);
        }
        _time.Advance(TimeSpan.FromMilliseconds(200));
        WaitFor(() => ticks.Any(t => t.AtMs >= 9_000));
        await stop.CancelAsync();
        await running;

        Assert.Equal(95000m, ticks.First().Bid);
        Assert.Equal(95100m, ticks.Last().Bid);
        // Well past the stale limit (3 s after the last row at 2 s), prices still flow.
        Assert.True(ticks.Count(t => t.AtMs >= 6_000) >= 3, string.Join(", ", ticks));
        Assert.Equal(0, feed.Stats.Rejected);
    }
}
