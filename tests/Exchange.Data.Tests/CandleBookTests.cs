namespace Exchange.Data.Tests;

public sealed class CandleBookTests
{
    // 2023-11-14 00:00:00 UTC: a day (so also a 4h, 1h, ... bucket) boundary.
    private const long Day = 1_699_920_000_000;
    private const long S = 1_000, M = 60 * S, H = 60 * M;

    private static Candle C(int seconds, long open, decimal o, decimal h, decimal l, decimal c) => new()
    {
        Asset = "BTC_USDC", IntervalSeconds = seconds, OpenTimeMs = open, Open = o, High = h, Low = l, Close = c,
    };

    private static string Show(IEnumerable<Candle> candles) =>
        string.Join("\n", candles.OrderBy(c => c.IntervalSeconds).ThenBy(c => c.OpenTimeMs).Select(c => c.ToString()));

    [Fact]
    public void Ticks_across_bucket_boundaries_give_exact_OHLC_for_every_interval()
    {
        var book = new CandleBook();
        var closed = new List<Candle>();
        (long T, decimal Bid)[] ticks =
        [
            (Day, 95_000.00000001m),
            (Day + 20 * S, 95_100.5m),
            (Day + 40 * S, 94_900.25m),
            (Day + M - 1, 94_950m),           // last millisecond of the first minute
            (Day + M, 94_000.12345678m),      // first of the second minute
            (Day + 5 * M - 1, 96_000m),
            (Day + 5 * M, 95_500m),           // second 5m bucket
            (Day + 15 * M + 1, 95_400m),      // second 15m bucket
            (Day + H, 93_000m),               // second hour
            (Day + 4 * H, 97_000m),           // second 4h bucket
            (Day + 24 * H, 92_000m),          // next day
        ];
        foreach (var (t, bid) in ticks) Assert.True(book.Apply("BTC_USDC", bid, t, closed));

        Candle[] expectedClosed =
        [
            C(60, Day, 95_000.00000001m, 95_100.5m, 94_900.25m, 94_950m),
            C(60, Day + M, 94_000.12345678m, 94_000.12345678m, 94_000.12345678m, 94_000.12345678m),
            C(60, Day + 4 * M, 96_000m, 96_000m, 96_000m, 96_000m),
            C(60, Day + 5 * M, 95_500m, 95_500m, 95_500m, 95_500m),
            C(60, Day + 15 * M, 95_400m, 95_400m, 95_400m, 95_400m),
            C(60, Day + H, 93_000m, 93_000m, 93_000m, 93_000m),
            C(60, Day + 4 * H, 97_000m, 97_000m, 97_000m, 97_000m),
            C(300, Day, 95_000.00000001m, 96_000m, 94_000.12345678m, 96_000m),
            C(300, Day + 5 * M, 95_500m, 95_500m, 95_500m, 95_500m),
            C(300, Day + 15 * M, 95_400m, 95_400m, 95_400m, 95_400m),
            C(300, Day + H, 93_000m, 93_000m, 93_000m, 93_000m),
            C(300, Day + 4 * H, 97_000m, 97_000m, 97_000m, 97_000m),
            C(900, Day, 95_000.00000001m, 96_000m, 94_000.12345678m, 95_500m),
            C(900, Day + 15 * M, 95_400m, 95_400m, 95_400m, 95_400m),
            C(900, Day + H, 93_000m, 93_000m, 93_000m, 93_000m),
            C(900, Day + 4 * H, 97_000m, 97_000m, 97_000m, 97_000m),
            C(3_600, Day, 95_000.00000001m, 96_000m, 94_000.12345678m, 95_400m),
            C(3_600, Day + H, 93_000m, 93_000m, 93_000m, 93_000m),
            C(3_600, Day + 4 * H, 97_000m, 97_000m, 97_000m, 97_000m),
            C(14_400, Day, 95_000.00000001m, 96_000m, 93_000m, 93_000m),
            C(14_400, Day + 4 * H, 97_000m, 97_000m, 97_000m, 97_000m),
            C(86_400, Day, 95_000.00000001m, 97_000m, 93_000m, 97_000m),
        ];
        Assert.Equal(Show(expectedClosed), Show(closed));

        // The next day's tick opened a candle in every interval.
        Assert.Equal(Show(CandleInterval.All.Select(i => C(i.Seconds, Day + 24 * H, 92_000m, 92_000m, 92_000m, 92_000m))),
            Show(book.OpenCandles));
    }

    [Fact]
    public void Random_ticks_match_a_grouping_of_the_same_ticks_by_bucket()
    {
        var random = new Random(7);
        var book = new CandleBook();
        var closed = new List<Candle>();
        var ticks = new List<(long T, decimal Bid)>();
        var t = Day - 3 * H;
        for (var i = 0; i < 5_000; i++)
        {
            t += random.Next(0, 90_000); // up to 1.5 minutes apart, sometimes the same millisecond
            ticks.Add((t, random.Next(1, 10_000_000) / 100_000_000m + random.Next(1, 200_000)));
        }
        foreach (var (time, bid) in ticks) book.Apply("BTC_USDC", bid, time, closed);

        foreach (var interval in CandleInterval.All)
        {
            var expected = ticks.GroupBy(x => x.T / interval.Milliseconds * interval.Milliseconds).Select(g => C(interval.Seconds, g.Key,
                g.First().Bid, g.Max(x => x.Bid), g.Min(x => x.Bid), g.Last().Bid));
            var actual = closed.Where(c => c.IntervalSeconds == interval.Seconds).Append(book.Open("BTC_USDC", interval.Seconds)!);
            Assert.Equal(Show(expected), Show(actual));
        }
    }

    [Fact]
    public void Buckets_are_UTC_epoch_multiples_of_the_interval()
    {
        var at = Day + 13 * H + 47 * M + 31 * S + 999; // 13:47:31.999
        string[] expected = ["13:47:00", "13:45:00", "13:45:00", "13:00:00", "12:00:00", "00:00:00"];
        for (var i = 0; i < CandleInterval.All.Count; i++)
        {
            var bucket = CandleInterval.All[i].BucketOf(at);
            Assert.Equal(0, bucket % CandleInterval.All[i].Milliseconds);
            Assert.Equal(expected[i], DateTimeOffset.FromUnixTimeMilliseconds(bucket).UtcDateTime.ToString("HH:mm:ss"));
        }
        // Before 1970 still floors (towards the past).
        Assert.Equal(-60_000, CandleInterval.All[0].BucketOf(-1));
        Assert.Equal(0, CandleInterval.All[0].BucketOf(0));
    }

    [Fact]
    public void Intervals_parse_by_their_exact_names()
    {
        Assert.Equal(["1m", "5m", "15m", "1h", "4h", "1d"], CandleInterval.All.Select(i => i.Name));
        Assert.True(CandleInterval.TryParse("4h", out var four));
        Assert.Equal(14_400, four.Seconds);
        foreach (var bad in new[] { null, "", "1M", "2m", "1w", " 1m", "60" })
            Assert.False(CandleInterval.TryParse(bad, out _));
    }

    [Fact]
    public void Late_ticks_are_ignored()
    {
        var book = new CandleBook();
        Assert.True(book.Apply("ETH_USDC", 3_500m, Day + 2 * M));
        Assert.False(book.Apply("ETH_USDC", 1m, Day + 2 * M - 1));
        Assert.Equal(1, book.LateTicks);
        Assert.Equal(3_500m, book.Open("ETH_USDC", 60)!.Low);

        // Another asset has its own clock.
        Assert.True(book.Apply("SOL_USDC", 240m, Day));
    }

    [Fact]
    public void A_seeded_candle_is_continued_and_merged_as_the_earlier_part()
    {
        var book = new CandleBook();
        book.Seed(C(86_400, Day, 90_000m, 99_000m, 89_000m, 95_000m));
        book.Apply("BTC_USDC", 100_000m, Day + 10 * H);
        Assert.Equal(C(86_400, Day, 90_000m, 100_000m, 89_000m, 100_000m).ToString(), book.Open("BTC_USDC", 86_400)!.ToString());

        // Ticks that arrived before the stored candle was loaded: the stored part comes first.
        var early = new CandleBook();
        early.Apply("BTC_USDC", 88_000m, Day + 11 * H);
        early.Seed(C(86_400, Day, 90_000m, 99_000m, 89_000m, 95_000m));
        Assert.Equal(C(86_400, Day, 90_000m, 99_000m, 88_000m, 88_000m).ToString(), early.Open("BTC_USDC", 86_400)!.ToString());

        // An older stored candle does not replace a newer open one.
        early.Seed(C(86_400, Day - 24 * H, 1m, 1m, 1m, 1m));
        Assert.Equal(Day, early.Open("BTC_USDC", 86_400)!.OpenTimeMs);
    }
}
