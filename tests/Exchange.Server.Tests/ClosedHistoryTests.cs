using System.Net;
using Exchange.Data;
using Microsoft.Extensions.DependencyInjection;

namespace Exchange.Server.Tests;

/// <summary>GET /trades?status=closed: a trader reads their own closes, without making the recorder commit early for nothing.</summary>
public sealed class ClosedHistoryTests : IAsyncLifetime
{
    private readonly ExchangeApp _app = new();

    public Task InitializeAsync() => _app.MarketAsync();

    public async Task DisposeAsync() => await _app.DisposeAsync();

    private EventRecorder Recorder => _app.Services.GetRequiredService<EventRecorder>();

    private async Task<string[]> ClosedReasonsAsync(Trader trader) =>
        [.. (await trader.GetJsonAsync("/api/v1/trades?status=closed"))["trades"]!.AsArray().Select(t => t!["closeReason"]!.GetValue<string>())];

    [Fact]
    public async Task A_close_and_a_stop_loss_are_in_the_history_as_soon_as_the_trader_hears_of_them()
    {
        var trader = await _app.TraderAsync();
        var manual = await trader.OpenAsync("SOL_USDC", "LONG", 100, 10);
        Assert.Equal(HttpStatusCode.OK, (await trader.Client.PostAsync($"/api/v1/trades/{manual}/close", null)).StatusCode);
        Assert.Equal(["MANUAL"], await ClosedReasonsAsync(trader));

        await trader.OpenAsync("SOL_USDC", "LONG", 100, 10, stopLossPrice: 230m);
        await _app.TickAsync("SOL_USDC", 229.90m, 230.00m);
        Assert.Empty((await trader.GetJsonAsync("/api/v1/trades?status=open"))["trades"]!.AsArray()); // the trader sees it gone
        Assert.Equal(["MANUAL", "STOP_LOSS"], (await ClosedReasonsAsync(trader)).Order()); // both closed, in one millisecond or two
    }

    [Fact]
    public async Task Paging_through_the_history_gives_every_close_once_also_many_closed_by_one_tick()
    {
        var trader = await _app.TraderAsync();
        var manual = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var trade = await trader.OpenAsync("ETH_USDC", "LONG", 20, 2);
            (await trader.Client.PostAsync($"/api/v1/trades/{trade}/close", null)).EnsureSuccessStatusCode();
            manual.Add(trade);
        }
        var stopped = new List<string>();
        for (var i = 0; i < 20; i++)
            stopped.Add(await trader.OpenAsync("SOL_USDC", "LONG", 20, 2, stopLossPrice: 230m));
        await _app.TickAsync("SOL_USDC", 229.90m, 230.00m); // all twenty in one millisecond
        Assert.Empty((await trader.GetJsonAsync("/api/v1/trades?status=open"))["trades"]!.AsArray());

        var seen = new List<(string TradeId, long ClosedAt)>();
        string? cursor = null;
        do
        {
            var page = await trader.GetJsonAsync($"/api/v1/trades?status=closed&limit=7{(cursor is null ? "" : "&before=" + cursor)}");
            seen.AddRange(page["trades"]!.AsArray().Select(t => (t!["tradeId"]!.GetValue<string>(), t["closedAt"]!.GetValue<long>())));
            cursor = page["nextCursor"]?.GetValue<string>();
        }
        while (cursor is not null);

        Assert.Equal(23, seen.Count);
        Assert.Equal(stopped.Concat(manual).Order(), seen.Select(s => s.TradeId).Order());
        Assert.Equal(seen.OrderByDescending(s => s.ClosedAt).ThenByDescending(s => s.TradeId, StringComparer.Ordinal), seen); // newest first, one order
        Assert.Single(seen.Where(s => stopped.Contains(s.TradeId)).Select(s => s.ClosedAt).Distinct());
    }

    [Theory]
    [InlineData("yesterday")]
    [InlineData("1733390000000.not-a-trade")]
    [InlineData("1733390000000.0000000000000000000000000000000A")]
    [InlineData("-5")]
    public async Task A_cursor_that_no_page_gave_is_400(string before)
    {
        var trader = await _app.TraderAsync();
        var response = await trader.Client.GetAsync($"/api/v1/trades?status=closed&before={Uri.EscapeDataString(before)}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("INVALID_CURSOR", (await response.ProblemAsync())["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_bare_close_time_still_pages_from_before_it()
    {
        var trader = await _app.TraderAsync();
        var trade = await trader.OpenAsync();
        (await trader.Client.PostAsync($"/api/v1/trades/{trade}/close", null)).EnsureSuccessStatusCode();
        var closedAt = (await trader.GetJsonAsync("/api/v1/trades?status=closed"))["trades"]![0]!["closedAt"]!.GetValue<long>();
        Assert.Single((await trader.GetJsonAsync($"/api/v1/trades?status=closed&before={closedAt + 1}"))["trades"]!.AsArray());
        Assert.Empty((await trader.GetJsonAsync($"/api/v1/trades?status=closed&before={closedAt}"))["trades"]!.AsArray());
    }

    [Fact]
    public async Task Reading_recorded_history_does_not_make_the_recorder_commit_early()
    {
        var reader = await _app.TraderAsync();
        var trade = await reader.OpenAsync();
        await reader.Client.PostAsync($"/api/v1/trades/{trade}/close", null);
        var other = await _app.TraderAsync();
        await Recorder.FlushAsync();
        // What comes next stays queued.
        await using var stuck = await _app.HoldDatabaseWriteLockAsync();
        await other.OpenAsync();
        // The writer takes those rows and is stuck with them; what follows stays in the queue.
        while (Recorder.QueueLength > 0) await Task.Delay(10);
        await other.OpenAsync();
        var queued = Recorder.QueueLength;
        Assert.True(queued > 0);

        Assert.Equal(["MANUAL"], await ClosedReasonsAsync(reader));
        Assert.Equal(queued, Recorder.QueueLength); // no flush asked for: nothing of this trader's is waiting
    }
}
