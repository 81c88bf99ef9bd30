using System.Net;
using Exchange.Data;
using Microsoft.Data.Sqlite;
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
        Assert.Equal(["STOP_LOSS", "MANUAL"], await ClosedReasonsAsync(trader));
    }

    [Fact]
    public async Task Reading_recorded_history_does_not_make_the_recorder_commit_early()
    {
        var reader = await _app.TraderAsync();
        var trade = await reader.OpenAsync();
        await reader.Client.PostAsync($"/api/v1/trades/{trade}/close", null);
        var other = await _app.TraderAsync();
        await Recorder.FlushAsync();
        // Another connection holds SQLite's write lock: what comes next stays queued.
        await using var blocker = new SqliteConnection($"Data Source={Path.Combine(_app.DataDirectory, "exchange.db")}");
        await blocker.OpenAsync();
        await using (var begin = blocker.CreateCommand())
        {
            begin.CommandText = "BEGIN IMMEDIATE";
            await begin.ExecuteNonQueryAsync();
        }
        await other.OpenAsync();
        // The writer takes those rows and is stuck with them; what follows stays in the queue.
        while (Recorder.QueueLength > 0) await Task.Delay(10);
        await other.OpenAsync();
        var queued = Recorder.QueueLength;
        Assert.True(queued > 0);

        Assert.Equal(["MANUAL"], await ClosedReasonsAsync(reader));
        Assert.Equal(queued, Recorder.QueueLength); // no flush asked for: nothing of this trader's is waiting

        await using (var commit = blocker.CreateCommand())
        {
            commit.CommandText = "COMMIT";
            await commit.ExecuteNonQueryAsync();
        }
    }
}
