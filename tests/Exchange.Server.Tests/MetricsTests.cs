namespace Exchange.Server.Tests;

/// <summary>
/// Runs alone: every app in this test process names its meters alike, OpenTelemetry merges
/// identical instruments of same-named meters into one stream, and another app disposing its
/// meter ends that stream for all (open-telemetry/opentelemetry-dotnet#6412). A server process
/// has one of each.
/// </summary>
[CollectionDefinition(nameof(MetricsTests), DisableParallelization = true)]
public sealed class MetricsCollection;

/// <summary>What an operator scrapes from /metrics.</summary>
[Collection(nameof(MetricsTests))]
public sealed class MetricsTests : IAsyncLifetime
{
    private readonly ExchangeApp _app = new();

    public Task InitializeAsync() => _app.MarketAsync();

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task Journal_fsync_time_batch_sizes_and_recorder_batch_time_are_exported_with_fine_buckets()
    {
        // The recorder commits its first batch after its linger.
        var text = await ScrapeAfterATradeAsync("exchange_journal_fsync_duration_seconds_count", "exchange_recorder_batch_duration_seconds_count");

        Assert.Contains("exchange_journal_fsync_duration_seconds_bucket{otel_scope_name=\"Exchange.Engine\",le=\"0.00025\"}", text, StringComparison.Ordinal);
        Assert.Contains("exchange_journal_batch_records_bucket{otel_scope_name=\"Exchange.Engine\",le=\"64\"}", text, StringComparison.Ordinal);
        Assert.Contains("exchange_recorder_batch_duration_seconds_bucket{otel_scope_name=\"Exchange.Data.EventRecorder\",le=\"0.001\"}", text, StringComparison.Ordinal);
        Assert.True(Count(text, "exchange_journal_fsync_duration_seconds_count") >= 2);
    }

    [Fact]
    public async Task Command_latency_is_exported_with_sub_millisecond_buckets()
    {
        var text = await ScrapeAfterATradeAsync("exchange_command_latency_seconds_count");

        Assert.Contains("exchange_command_latency_seconds_bucket{otel_scope_name=\"Exchange.Api\",command=\"CREATE_TRADE\",outcome=\"accepted\",le=\"0.001\"}",
            text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task How_long_commands_wait_for_the_engine_thread_and_for_the_journal_is_exported()
    {
        var text = await ScrapeAfterATradeAsync("exchange_engine_queue_wait_seconds_count", "exchange_journal_wait_seconds_count");

        // Signup funding, the open and the reads before them each went through the engine host.
        Assert.Contains("exchange_engine_queue_wait_seconds_bucket{otel_scope_name=\"Exchange.Engine\",le=\"0.0001\"}", text, StringComparison.Ordinal);
        Assert.True(Count(text, "exchange_engine_queue_wait_seconds_count") >= 2);
        Assert.True(Count(text, "exchange_journal_wait_seconds_count") >= 2);
    }

    [Fact]
    public async Task The_engine_threads_time_on_a_cpu_and_waiting_for_one_is_exported()
    {
        var text = await ScrapeAfterATradeAsync("exchange_engine_thread_cpu_seconds_total", "exchange_engine_thread_runqueue_wait_seconds_total");

        Assert.True(Value(text, "exchange_engine_thread_cpu_seconds_total") > 0);
        Assert.True(Value(text, "exchange_engine_thread_runqueue_wait_seconds_total") >= 0);
    }

    [Fact]
    public async Task The_insurance_fund_and_the_house_pnl_are_exported_to_the_cent()
    {
        var trader = await _app.TraderAsync();
        await trader.OpenAsync("BTC_USDC", "SHORT", 500, 50); // liquidation price 96,425
        await _app.TickAsync("BTC_USDC", 96_420m, 96_430m); // liquidated: PnL -376.32, the rest of the margin to the fund

        var text = "";
        for (var attempt = 0; attempt < 50 && !(text.Contains("exchange_house_pnl_usd", StringComparison.Ordinal) && Value(text, "exchange_insurance_fund_usd") > 0); attempt++)
        {
            if (attempt > 0) await Task.Delay(100);
            text = await _app.CreateClient().GetStringAsync("/metrics");
        }

        Assert.Equal(123.68, Value(text, "exchange_insurance_fund_usd"));
        Assert.Equal(376.32, Value(text, "exchange_house_pnl_usd"));
    }

    /// <summary>
    /// Signs a trader up and opens a trade, then scrapes until every one of <paramref name="series"/>
    /// is there: the exporter collects on request, so a scrape right after the first commands may predate them.
    /// </summary>
    private async Task<string> ScrapeAfterATradeAsync(params string[] series)
    {
        var trader = await _app.TraderAsync();
        await trader.OpenAsync();
        var text = "";
        for (var attempt = 0; attempt < 50 && !series.All(s => text.Contains(s, StringComparison.Ordinal)); attempt++)
        {
            if (attempt > 0) await Task.Delay(100);
            text = await _app.CreateClient().GetStringAsync("/metrics");
        }
        return text;
    }

    private static double Value(string metrics, string series)
    {
        var line = metrics.Split('\n').First(l => l.StartsWith(series, StringComparison.Ordinal));
        return double.Parse(line.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static long Count(string metrics, string series) => (long)Value(metrics, series);
}
