using Exchange.Engine;
using Microsoft.Extensions.Logging.Abstractions;
using static Exchange.Feed.Tests.ChannelSource;

namespace Exchange.Feed.Tests;

public class TickConflatorTests
{
    private static readonly AssetId Btc = new(0), Eth = new(1);
    private const long Interval = 1_000;

    private readonly List<(long AtMs, AssetId Asset, decimal Bid, decimal Ask)> _sent = [];
    private long _now;

    private TickConflator Conflator(long staleAfterMs = 60_000) =>
        new([("BTC_USDC", Btc), ("ETH_USDC", Eth)], Interval, staleAfterMs,
            (asset, bid, ask) => _sent.Add((_now, asset, bid.ToDecimal(), ask.ToDecimal())), NullLogger.Instance);

    private QuoteOutcome Offer(TickConflator c, long atMs, Quote quote)
    {
        _now = atMs;
        return c.Offer(quote, atMs);
    }

    private void Flush(TickConflator c, long atMs)
    {
        _now = atMs;
        c.Flush(atMs);
    }

    [Fact]
    public void The_first_quote_of_an_asset_goes_out_at_once()
    {
        var c = Conflator();
        Assert.Equal(QuoteOutcome.Emitted, Offer(c, 0, Q("BTC_USDC", 100, 101)));
        Assert.Equal([(0L, Btc, 100m, 101m)], _sent);
    }

    [Fact]
    public void Quotes_within_an_interval_are_held_and_the_latest_sent_when_it_is_up()
    {
        var c = Conflator();
        Offer(c, 0, Q("BTC_USDC", 100, 101));
        Assert.Equal(QuoteOutcome.Held, Offer(c, 100, Q("BTC_USDC", 102, 103)));
        Assert.Equal(QuoteOutcome.Held, Offer(c, 900, Q("BTC_USDC", 104, 105)));
        Flush(c, 999);
        Assert.Single(_sent);
        Flush(c, 1_000);
        Assert.Equal((1_000L, Btc, 104m, 105m), _sent[^1]);
        Assert.Equal(2, _sent.Count);
    }

    [Fact]
    public void A_quote_after_a_full_interval_goes_out_at_once()
    {
        var c = Conflator();
        Offer(c, 0, Q("BTC_USDC", 100, 101));
        Assert.Equal(QuoteOutcome.Emitted, Offer(c, 1_000, Q("BTC_USDC", 102, 103)));
        Assert.Equal((1_000L, Btc, 102m, 103m), _sent[^1]);
    }

    [Fact]
    public void Assets_are_conflated_independently()
    {
        var c = Conflator();
        Offer(c, 0, Q("BTC_USDC", 100, 101));
        Assert.Equal(QuoteOutcome.Emitted, Offer(c, 10, Q("ETH_USDC", 10, 11)));
        Assert.Equal(QuoteOutcome.Held, Offer(c, 20, Q("BTC_USDC", 99, 100)));
        Assert.Equal([(0L, Btc, 100m, 101m), (10L, Eth, 10m, 11m)], _sent);
    }

    [Fact]
    public void A_quiet_asset_has_its_last_price_resent_every_interval()
    {
        var c = Conflator();
        Offer(c, 0, Q("BTC_USDC", 100, 101));
        for (var t = 100; t <= 3_000; t += 100)
            Flush(c, t);
        Assert.Equal([0L, 1_000L, 2_000L, 3_000L], _sent.Select(s => s.AtMs));
        Assert.All(_sent, s => Assert.Equal((100m, 101m), (s.Bid, s.Ask)));
        Assert.Equal(3, c.Stats(0).Resent);
    }

    [Fact]
    public void Resending_stops_once_the_source_is_silent_past_the_stale_limit_and_resumes_with_a_quote()
    {
        var c = Conflator(staleAfterMs: 2_500);
        Offer(c, 0, Q("BTC_USDC", 100, 101));
        for (var t = 100; t <= 6_000; t += 100)
            Flush(c, t);
        Assert.Equal([0L, 1_000L, 2_000L], _sent.Select(s => s.AtMs));

        Assert.Equal(QuoteOutcome.Emitted, Offer(c, 6_050, Q("BTC_USDC", 90, 91)));
        Flush(c, 7_050);
        Assert.Equal([6_050L, 7_050L], _sent.Skip(3).Select(s => s.AtMs));
    }

    [Theory]
    [InlineData(101, 100)] // crossed
    [InlineData(100, 100)] // locked
    [InlineData(0, 100)]
    [InlineData(100, 0)]
    [InlineData(-1, 100)]
    [InlineData(100, 30_000_000_000)] // above Price.MaxQuote (about 23 billion): the engine would ignore it
    public void Crossed_locked_non_positive_and_absurd_quotes_are_skipped_and_counted(decimal bid, decimal ask)
    {
        var c = Conflator();
        Offer(c, 0, Q("BTC_USDC", 100, 101));
        Assert.Equal(QuoteOutcome.Rejected, Offer(c, 2_000, Q("BTC_USDC", bid, ask)));
        Assert.Equal(QuoteOutcome.Rejected, Offer(c, 2_001, Q("ETH_USDC", bid, ask)));
        Flush(c, 2_002);

        // The bad quote replaced nothing: the last good price is what is re-sent.
        Assert.Equal([(0L, Btc, 100m, 101m), (2_002L, Btc, 100m, 101m)], _sent);
        var stats = c.Stats(0);
        Assert.Equal((3, 2, 1, 2), (stats.Received, stats.Emitted, stats.Resent, stats.Rejected));
    }

    [Fact]
    public void Quotes_for_assets_not_selected_are_ignored_and_counted()
    {
        var c = Conflator();
        Assert.Equal(QuoteOutcome.Ignored, Offer(c, 0, Q("SOL_USDC", 240, 241)));
        Assert.Equal(QuoteOutcome.Emitted, Offer(c, 0, Q("btc_usdc", 100, 101)));
        Assert.Equal(1, c.Stats(0).Ignored);
        Assert.Single(_sent);
    }

    [Fact]
    public void A_random_stream_gets_at_most_one_tick_per_asset_per_interval_always_the_latest()
    {
        const int seed = 7;
        var random = new Random(seed);
        var c = Conflator(staleAfterMs: 0);
        string[] symbols = ["BTC_USDC", "ETH_USDC"];
        var latest = new (decimal Bid, decimal Ask)[2];
        var lastSentAt = new long?[2];
        long t = 0;
        for (var i = 0; i < 100_000; i++)
        {
            t += random.Next(0, 60);
            var before = _sent.Count;
            if (random.Next(4) == 0)
            {
                Flush(c, t);
            }
            else
            {
                var asset = random.Next(2);
                decimal bid = random.Next(1, 1_000);
                latest[asset] = (bid, bid + random.Next(1, 5));
                Offer(c, t, Q(symbols[asset], latest[asset].Bid, latest[asset].Ask));
            }
            foreach (var sent in _sent.Skip(before))
            {
                Assert.Equal(latest[sent.Asset.Index], (sent.Bid, sent.Ask));
                if (lastSentAt[sent.Asset.Index] is { } previous)
                    Assert.True(t - previous >= Interval, $"seed {seed}: {sent.Asset} sent at {previous} and {t}");
                lastSentAt[sent.Asset.Index] = t;
            }
        }
        // ~3,000 s of stream: both assets close to one tick per second.
        Assert.InRange(_sent.Count, 2 * t / Interval * 9 / 10, 2 * t / Interval);
    }
}
