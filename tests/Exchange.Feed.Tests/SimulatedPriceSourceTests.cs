using Exchange.Engine;
using Exchange.Feed.Simulated;

namespace Exchange.Feed.Tests;

public class SimulatedPriceSourceTests
{
    private const long Seed = 20250101;

    private static SimulatedPriceSource Source(long seed = Seed, decimal volatility = 0.0001m,
        IReadOnlyList<SimulatedAsset>? assets = null, TimeSpan? jumpsEvery = null) =>
        new(new SimulatedOptions
        {
            Seed = seed,
            Volatility = volatility,
            Assets = assets ?? SimulatedAsset.Defaults,
            MeanTimeBetweenJumps = jumpsEvery ?? TimeSpan.FromMinutes(15),
        });

    private static decimal Mid(Quote q) => (q.Bid.ToDecimal() + q.Ask.ToDecimal()) / 2;

    // Statistics only: double is fine here, the prices themselves are integers.
    private static double MidRaw(Quote q) => (q.Bid.Raw + (double)q.Ask.Raw) / 2;

    [Fact]
    public void Same_seed_gives_the_same_quotes()
    {
        var a = Source();
        var b = Source();
        for (var step = 0; step < 20_000; step++)
        {
            if (!a.Step(step).SequenceEqual(b.Step(step)))
                Assert.Fail($"seed {Seed}: quotes differ at step {step}");
        }
    }

    [Fact]
    public void Different_seeds_give_different_quotes() =>
        Assert.NotEqual(Source(seed: 1).Step(0), Source(seed: 2).Step(0));

    [Fact]
    public void The_first_quotes_of_a_seed_never_change()
    {
        // Pinned so a change to the generator or the integer maths, or a platform difference, shows up here.
        var source = Source();
        Quote[] last = [];
        for (var step = 0; step < 1_000; step++)
            last = source.Step(step);
        Assert.Equal(
            ["BTC_USDC 92550.58 92559.84", "ETH_USDC 3411.03 3411.56", "SOL_USDC 238.796 238.845"],
            last.Select(q => $"{q.Symbol} {q.Bid} {q.Ask}"));
    }

    [Fact]
    public void An_assets_path_does_not_depend_on_the_other_assets_simulated()
    {
        var all = Source();
        var solOnly = Source(assets: [SimulatedAsset.Defaults[2]]);
        for (var step = 0; step < 5_000; step++)
        {
            if (all.Step(step)[2] != solOnly.Step(step)[0])
                Assert.Fail($"seed {Seed}: SOL differs at step {step}");
        }
    }

    [Fact]
    public void Prices_start_near_the_market_with_a_spread_of_a_few_basis_points()
    {
        var quotes = Source().Step(0);
        decimal[] starts = [95_000m, 3_500m, 240m];
        for (var i = 0; i < quotes.Length; i++)
        {
            Assert.InRange(Mid(quotes[i]), starts[i] * 0.995m, starts[i] * 1.005m);
            var spreadBps = (quotes[i].Ask.ToDecimal() - quotes[i].Bid.ToDecimal()) / Mid(quotes[i]) * 10_000;
            Assert.InRange(spreadBps, 0.5m, 3m);
        }
    }

    [Fact]
    public void Over_a_million_steps_prices_stay_positive_and_the_spread_valid()
    {
        var source = Source();
        long[] ticks = [Price.FromDecimal(0.01m).Raw, Price.FromDecimal(0.01m).Raw, Price.FromDecimal(0.001m).Raw];
        var low = new long[3];
        var high = new long[3];
        Array.Fill(low, long.MaxValue);
        for (var step = 0; step < 1_000_000; step++)
        {
            var quotes = source.Step(step);
            for (var i = 0; i < quotes.Length; i++)
            {
                var q = quotes[i];
                if (q.Bid.Raw <= 0 || q.Bid >= q.Ask || q.Bid.Raw % ticks[i] != 0 || q.Ask.Raw % ticks[i] != 0)
                    Assert.Fail($"seed {Seed} step {step}: invalid quote {q}");
                // The spread is the target (1–2 bps) rounded outwards to the tick, never wider.
                if ((q.Ask.Raw - q.Bid.Raw) * 10_000 > q.Bid.Raw * 3)
                    Assert.Fail($"seed {Seed} step {step}: spread too wide {q}");
                low[i] = Math.Min(low[i], q.Bid.Raw);
                high[i] = Math.Max(high[i], q.Ask.Raw);
            }
        }
        // About 11.5 days at one step a second: the mean reversion keeps prices within a plausible band.
        decimal[] starts = [95_000m, 3_500m, 240m];
        for (var i = 0; i < 3; i++)
        {
            Assert.InRange(new Price(low[i]).ToDecimal(), starts[i] / 3, starts[i]);
            Assert.InRange(new Price(high[i]).ToDecimal(), starts[i], starts[i] * 3);
        }
    }

    [Fact]
    public void Jumps_of_one_to_three_percent_happen_now_and_then()
    {
        var source = Source();
        var previous = source.Step(0).Select(MidRaw).ToArray();
        var jumps = 0;
        var largest = 0.0;
        const int steps = 200_000;
        for (var step = 1; step < steps; step++)
        {
            var quotes = source.Step(step);
            for (var i = 0; i < quotes.Length; i++)
            {
                var mid = MidRaw(quotes[i]);
                var move = Math.Abs(mid / previous[i] - 1);
                largest = Math.Max(largest, move);
                if (move >= 0.009) // ordinary steps are under 0.1 %
                    jumps++;
                previous[i] = mid;
            }
        }
        // 3 assets × 200,000 s / 900 s ≈ 667 expected.
        Assert.InRange(jumps, 500, 850);
        Assert.Equal(source.Jumps, jumps);
        Assert.InRange(largest, 0.025, 0.031);
    }

    [Fact]
    public void A_downward_jump_liquidates_a_100x_long_opened_just_before_it()
    {
        var source = Source();
        var before = source.Step(0)[0];
        for (var step = 1; step < 100_000; step++)
        {
            var after = source.Step(step)[0];
            if (after.Bid.Raw < before.Bid.Raw * 99 / 100)
            {
                var liquidation = PositionMath.LiquidationPrice(Direction.Long, before.Ask, leverage: 100, mmrPpm: 5_000);
                Assert.True(after.Bid <= liquidation, $"seed {Seed} step {step}: bid {after.Bid}, liquidation {liquidation}");
                return;
            }
            before = after;
        }
        Assert.Fail($"seed {Seed}: no downward jump of BTC in 100,000 steps");
    }

    [Theory]
    [InlineData(0, 0.01, 1)]
    [InlineData(100, 0.000000001, 1)]
    [InlineData(100, 0.01, 0)]
    [InlineData(100, 200, 1)]
    [InlineData(200_000_000, 0.01, 1)]
    public void Impossible_market_parameters_are_refused(decimal start, decimal tick, decimal spreadBps) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Source(assets: [new SimulatedAsset("X", start, tick, spreadBps)]));

    [Fact]
    public void Volatility_sets_the_size_of_ordinary_moves()
    {
        static double RealizedPerStep(SimulatedPriceSource source)
        {
            var previous = MidRaw(source.Step(0)[0]);
            var sumSquares = 0.0;
            const int steps = 20_000;
            for (var step = 1; step <= steps; step++)
            {
                var mid = MidRaw(source.Step(step)[0]);
                sumSquares += Math.Pow(mid / previous - 1, 2);
                previous = mid;
            }
            return Math.Sqrt(sumSquares / steps);
        }

        var noJumps = TimeSpan.Zero;
        Assert.Equal(0, RealizedPerStep(Source(volatility: 0, jumpsEvery: noJumps)), 6);
        Assert.Equal(0.0001, RealizedPerStep(Source(volatility: 0.0001m, jumpsEvery: noJumps)), 5);
        Assert.Equal(0.001, RealizedPerStep(Source(volatility: 0.001m, jumpsEvery: noJumps)), 4);
    }

    [Fact]
    public async Task ReadAsync_quotes_at_once_then_every_interval_with_the_clocks_time()
    {
        var time = new ManualTime();
        var options = new SimulatedOptions { Seed = Seed, Interval = TimeSpan.FromMilliseconds(500) };
        var source = new SimulatedPriceSource(options, time);
        var replay = new SimulatedPriceSource(options);
        var expected = replay.Step(0).Concat(replay.Step(1)).ToArray();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await using var quotes = source.ReadAsync(cts.Token).GetAsyncEnumerator(cts.Token);

        var start = time.GetUtcNow().ToUnixTimeMilliseconds();
        var received = new List<Quote>();
        for (var i = 0; i < 3; i++)
        {
            Assert.True(await quotes.MoveNextAsync());
            received.Add(quotes.Current);
        }
        var waiting = quotes.MoveNextAsync();
        Assert.False(waiting.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(500));
        Assert.True(await waiting);
        received.Add(quotes.Current);
        for (var i = 0; i < 2; i++)
        {
            Assert.True(await quotes.MoveNextAsync());
            received.Add(quotes.Current);
        }

        Assert.Equal(expected.Select(q => (q.Symbol, q.Bid, q.Ask)), received.Select(q => (q.Symbol, q.Bid, q.Ask)));
        Assert.All(received.Take(3), q => Assert.Equal(start, q.TimestampMs));
        Assert.All(received.Skip(3), q => Assert.Equal(start + 500, q.TimestampMs));
    }

    [Fact]
    public void A_restarted_simulator_resumes_from_the_last_mids_on_the_tick()
    {
        var options = PriceSources.SimulatedOptionsFor(new FeedOptions(),
            new Dictionary<string, decimal> { ["SOL_USDC"] = 231.23456m, ["BTC_USDC"] = 91_234.567m });

        Assert.Equal(231.235m, options.Assets.Single(a => a.Symbol == "SOL_USDC").StartPrice);
        Assert.Equal(91_234.57m, options.Assets.Single(a => a.Symbol == "BTC_USDC").StartPrice);
        Assert.Equal(3_500m, options.Assets.Single(a => a.Symbol == "ETH_USDC").StartPrice); // no last price: the default
        var first = new SimulatedPriceSource(options).Step(0).Single(q => q.Symbol == "SOL_USDC");
        Assert.InRange(Mid(first), 231.235m * 0.99m, 231.235m * 1.01m);
    }

    [Theory]
    [InlineData(0.0001)]
    [InlineData(500_000_000)]
    public void A_last_mid_the_walk_cannot_start_from_keeps_the_default(decimal mid)
    {
        var options = PriceSources.SimulatedOptionsFor(new FeedOptions(), new Dictionary<string, decimal> { ["SOL_USDC"] = mid });

        Assert.Equal(240m, options.Assets.Single(a => a.Symbol == "SOL_USDC").StartPrice);
    }
}
