using Exchange.Feed.Exchanges;

namespace Exchange.Feed.Tests;

public class ReconnectBackoffTests
{
    private static readonly TimeSpan Base = TimeSpan.FromMilliseconds(500), Max = TimeSpan.FromSeconds(30);

    [Fact]
    public void The_ceiling_doubles_per_attempt_up_to_the_maximum()
    {
        var backoff = new ReconnectBackoff(Base, Max, seed: 1);
        Assert.Equal([500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000],
            Enumerable.Range(0, 8).Select(a => backoff.Ceiling(a).TotalMilliseconds));
        Assert.Equal(Max, backoff.Ceiling(int.MaxValue));
    }

    [Fact]
    public void Each_delay_is_between_half_and_all_of_its_ceiling_and_spread_out()
    {
        var backoff = new ReconnectBackoff(Base, Max, seed: 7);
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var ceiling = backoff.Ceiling(attempt);
            var delays = Enumerable.Range(0, 200).Select(_ => backoff.Delay(attempt)).ToList();
            Assert.All(delays, d => Assert.InRange(d, ceiling / 2, ceiling));
            Assert.True(delays.Distinct().Count() > 150, $"attempt {attempt}: jitter barely varies");
        }
    }

    [Fact]
    public void The_same_seed_gives_the_same_delays_and_another_seed_others()
    {
        static TimeSpan[] Delays(ulong seed)
        {
            var backoff = new ReconnectBackoff(Base, Max, seed);
            return [.. Enumerable.Range(0, 20).Select(backoff.Delay)];
        }
        Assert.Equal(Delays(42), Delays(42));
        Assert.NotEqual(Delays(42), Delays(43));
    }

    [Theory]
    [InlineData(0, 1_000)]
    [InlineData(-1, 1_000)]
    [InlineData(2_000, 1_000)]
    public void Impossible_delays_are_refused(int baseMs, int maxMs) =>
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            new ReconnectBackoff(TimeSpan.FromMilliseconds(baseMs), TimeSpan.FromMilliseconds(maxMs), 1));
}
