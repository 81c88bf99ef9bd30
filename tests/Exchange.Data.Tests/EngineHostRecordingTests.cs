using Exchange.Engine;
using Exchange.Journal;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Data.Tests;

/// <summary>The recorder as the engine host's listener, over a real journal: restarts and snapshots never duplicate a row.</summary>
public sealed class EngineHostRecordingTests : IAsyncLifetime
{
    private TestDatabase _test = null!;
    private string _engineDir = null!;

    public async Task InitializeAsync()
    {
        _test = await TestDatabase.CreateAsync();
        _engineDir = Path.Combine(_test.Directory, "engine");
    }

    public async Task DisposeAsync() => await _test.DisposeAsync();

    private EngineHost StartHost(EventRecorder recorder) => EngineHost.Start(new EngineHostOptions
    {
        DataDirectory = _engineDir,
        SnapshotIntervalMs = 0,
        TrimJournal = false,
        Journal = JournalOptions.Default with { FsyncEnabled = false },
    }, listener: recorder);

    private static readonly UserId[] Users = Enumerable.Range(1, 4).Select(EngineScript.User).ToArray();

    /// <summary>Accounts, trades opened and closed by hand, and a price gap that liquidates the high-leverage LONGs.</summary>
    private static async Task DriveAsync(EngineHost host, int round)
    {
        foreach (var user in Users)
            await host.SubmitAsync(new EngineInput { Kind = InputKind.CreateAccount, User = user, OrderId = Guid.NewGuid() });
        host.SubmitTick(EngineScript.Btc, Price.FromDecimal(95_000m), Price.FromDecimal(95_001m));
        var opened = new List<(UserId User, TradeId Id)>();
        for (var i = 0; i < 12; i++)
        {
            var user = Users[i % Users.Length];
            var id = new TradeId(new UInt128((ulong)round, (ulong)i));
            var reply = await host.SubmitAsync(new EngineInput
            {
                Kind = InputKind.CreateTrade, User = user, TradeId = id, Symbol = "BTC_USDC", OrderId = Guid.NewGuid(),
                Direction = i % 3 == 0 ? Direction.Short : Direction.Long, Margin = 25m + i, Leverage = i % 2 == 0 ? 50m : 2m,
            });
            Assert.True(reply.Accepted, reply.Code.Name());
            opened.Add((user, id));
        }
        foreach (var (user, id) in opened.Where((_, i) => i % 4 == 1))
            await host.SubmitAsync(new EngineInput { Kind = InputKind.CloseTrade, User = user, TradeId = id, OrderId = Guid.NewGuid() });
        host.SubmitTick(EngineScript.Btc, Price.FromDecimal(91_000m), Price.FromDecimal(91_001m));
        host.SubmitTick(EngineScript.Btc, Price.FromDecimal(95_500m), Price.FromDecimal(95_501m));
    }

    private static async Task WaitRecordedAsync(EngineHost host, EventRecorder recorder)
    {
        var last = await host.ReadAsync(e => e.LastEventSequence);
        await recorder.WhenRecordedAsync(last).WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Restarts_replay_the_journal_without_duplicating_rows_and_the_ledger_matches_the_engine()
    {
        var recorder = await _test.StartRecorderAsync();
        string expected;
        using (var host = StartHost(recorder))
        {
            await DriveAsync(host, round: 1);
            await WaitRecordedAsync(host, recorder);
            expected = await _test.DumpAsync();

            await using var db = _test.Context();
            Assert.Equal(await host.ReadAsync(e => e.OpenTradeCount), await db.Trades.CountAsync(t => t.Status == "open"));
            Assert.Contains(await db.Trades.ToListAsync(), t => t.CloseReason == "LIQUIDATION");
            Assert.Contains(await db.Trades.ToListAsync(), t => t.CloseReason == "MANUAL");
            foreach (var user in Users)
            {
                var balance = await host.SubmitAsync(new EngineInput { Kind = InputKind.GetBalance, User = user });
                var last = await db.Ledger.Where(e => e.UserId == user.Value).OrderByDescending(e => e.EventSequence).FirstAsync();
                Assert.Equal((balance.Free.ToDecimal(), balance.Locked.ToDecimal()), (last.Free, last.Locked));
            }
        }
        var written = recorder.EventsWritten;

        // No snapshot: recovery replays the whole journal to the listener, all of it already recorded.
        using (var host = StartHost(recorder))
        {
            await WaitRecordedAsync(host, recorder);
            await recorder.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(expected, await _test.DumpAsync());
            Assert.Equal(written, recorder.EventsWritten);

            await DriveAsync(host, round: 2); // CREATE_ACCOUNT is rejected now; trades go on
            await host.SnapshotNowAsync();
            await DriveAsync(host, round: 3);
            await WaitRecordedAsync(host, recorder);
            expected = await _test.DumpAsync();
        }

        // From the snapshot plus the journal after it, with a fresh recorder process.
        await _test.StopAsync(recorder);
        var next = await _test.StartRecorderAsync();
        using (var host = StartHost(next))
        {
            await WaitRecordedAsync(host, next);
            await next.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(expected, await _test.DumpAsync());
            Assert.Equal(0, next.EventsWritten);
        }
    }
}
