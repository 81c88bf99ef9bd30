namespace Exchange.LoadTest.Tests;

public sealed class LoadOptionsTests
{
    private static readonly int TwoOrFewerCpus = Math.Min(2, Environment.ProcessorCount);

    [Fact]
    public void By_default_a_second_dispatcher_keeps_the_schedule_only_below_5000_commands_per_second()
    {
        var options = LoadOptions.Parse([]);

        Assert.Null(options.Dispatchers);
        Assert.Equal(TwoOrFewerCpus, options.DispatchersFor(2_000));
        Assert.Equal(TwoOrFewerCpus, options.DispatchersFor(4_999));
        Assert.Equal(1, options.DispatchersFor(5_000));
        Assert.Equal(1, options.DispatchersFor(10_000));
    }

    [Fact]
    public void Dispatchers_asked_for_are_kept_at_any_rate_up_to_the_cpus()
    {
        Assert.Equal(1, LoadOptions.Parse(["--dispatchers", "1"]).DispatchersFor(2_000));
        Assert.Equal(TwoOrFewerCpus, LoadOptions.Parse(["--dispatchers", "2"]).DispatchersFor(10_000));
        Assert.Equal(Environment.ProcessorCount, LoadOptions.Parse(["--dispatchers", "512"]).DispatchersFor(2_000));
        Assert.Null(LoadOptions.Parse(["--dispatchers", "1", "--dispatchers", "auto"]).Dispatchers);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("two")]
    public void Dispatchers_other_than_a_positive_count_or_auto_are_refused(string value) =>
        Assert.ThrowsAny<Exception>(() => LoadOptions.Parse(["--dispatchers", value]));
}
