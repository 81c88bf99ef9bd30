using Exchange.Engine;
using Exchange.Journal;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Data.Tests;

public sealed class EventRecorderTests : IAsyncLifetime
{
    private static readonly Guid UserA = EngineScript.User(1).Value;
    private static readonly Guid UserB = EngineScript.User(2).Value;
    private static readonly string TradeA = EngineScript.Trade(1).ToString();
    private static readonly string TradeB = EngineScript.Trade(2).ToString();

    private TestDatabase _test = null!;

    public async Task InitializeAsync() => _test = await TestDatabase.CreateAsync();

    public async Task DisposeAsync() => await _test.DisposeAsync();

    private static async Task Record(EventRecorder recorder, IReadOnlyList<object> events, bool replayed = false)
    {
        recorder.OnEvents(events, replayed);
        await recorder.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Events_of_a_live_run_become_trades_and_ledger_rows_with_exact_decimals()
    {
        var script = EngineScript.TwoTraders();
        var recorder = await _test.StartRecorderAsync();
        recorder.OnEvents(script.Events, replayed: false);
        var last = EngineScript.LastSequence(script.Events);
        await recorder.WhenRecordedAsync(last).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(last, recorder.RecordedEventSequence);

        await using var db = _test.Context();
        var a = await db.Trades.SingleAsync(t => t.TradeId == TradeA);
        Assert.Equal(UserA, a.UserId);
        Assert.Equal("BTC_USDC", a.Asset);
        Assert.Equal("LONG", a.Direction);
        Assert.Equal(500.00m, a.Margin);
        Assert.Equal(10, a.Leverage);
        Assert.Equal(96_425.00000000m, a.OpenPrice);
        Assert.Equal(0.05185377m, a.Quantity);
        Assert.Equal(87_264.62500000m, a.LiquidationPrice);
        Assert.Equal(90_000m, a.StopLossPrice);
        Assert.Equal(110_000m, a.TakeProfitPrice);
        Assert.Equal("closed", a.Status);
        Assert.Equal("MANUAL", a.CloseReason);
        Assert.Equal(104_540.80m, a.ClosePrice);
        Assert.Equal(420.83m, a.Pnl);
        Assert.Equal(920.83m, a.Payout);
        Assert.Equal(0m, a.InsuranceFundChange);
        Assert.Equal(script.Now - 1000, a.ClosedAtMs);
        Assert.NotNull(a.CloseOrderId);
        Assert.NotEqual(Guid.Empty, a.OpenOrderId);

        var b = await db.Trades.SingleAsync(t => t.TradeId == TradeB);
        Assert.Equal("SHORT", b.Direction);
        Assert.Equal("ETH_USDC", b.Asset);
        Assert.Equal(3_500.00m, b.OpenPrice);
        Assert.Equal(0.14285714m, b.Quantity);
        Assert.Equal(4_182.50m, b.LiquidationPrice);
        Assert.Null(b.TakeProfitPrice);
        Assert.Equal("STOP_LOSS", b.CloseReason);
        Assert.Equal(3_601.50m, b.ClosePrice); // the tick's ask, not the trigger price
        Assert.Equal(-14.50m, b.Pnl);
        Assert.Equal(85.50m, b.Payout);
        Assert.Null(b.CloseOrderId); // a price tick closed it
        Assert.Equal(script.Now, b.ClosedAtMs);

        var ledgerA = await db.Ledger.Where(e => e.UserId == UserA).OrderBy(e => e.EventSequence).ToListAsync();
        Assert.Equal(
            [("ACCOUNT_CREATED", 5_000.00m, 0m, null), ("TRADE_OPENED", 4_500m, 500m, TradeA), ("TRADE_CLOSED", 5_420.83m, 0m, TradeA)],
            ledgerA.Select(e => (e.Reason, e.Free, e.Locked, e.TradeId)).ToList());
        Assert.All(ledgerA, e => Assert.NotNull(e.OrderId));

        var ledgerB = await db.Ledger.Where(e => e.UserId == UserB).OrderBy(e => e.EventSequence).ToListAsync();
        Assert.Equal(
            [("ACCOUNT_CREATED", 5_000m, 0m), ("TRADE_OPENED", 4_900m, 100m), ("TRADE_CLOSED", 4_985.50m, 0m)],
            ledgerB.Select(e => (e.Reason, e.Free, e.Locked)).ToList());
        Assert.Null(ledgerB[^1].OrderId);

        Assert.Equal(last, (await db.RecorderCursors.SingleAsync()).LastEventSequence);
        Assert.Equal(6, await db.Ledger.CountAsync());
    }

    [Fact]
    public async Task Stored_decimals_keep_their_value_when_read_back_as_text()
    {
        var script = EngineScript.TwoTraders();
        var recorder = await _test.StartRecorderAsync();
        await Record(recorder, script.Events);

        await using var db = _test.Context();
        var raw = await db.Database.SqlQueryRaw<string>(
            "SELECT CAST(\"OpenPrice\" AS TEXT) AS \"Value\" FROM \"Trades\" ORDER BY \"TradeId\"").ToListAsync();
        Assert.Equal([96_425m, 3_500m], raw.Select(s => decimal.Parse(s, System.Globalization.CultureInfo.InvariantCulture)).ToList());
    }

    [Fact]
    public async Task Replaying_the_same_events_changes_nothing()
    {
        var script = EngineScript.TwoTraders();
        var recorder = await _test.StartRecorderAsync();
        await Record(recorder, script.Events);
        var before = await _test.DumpAsync();

        await Record(recorder, script.Events, replayed: true);
        await Record(recorder, script.Events, replayed: false);
        Assert.Equal(before, await _test.DumpAsync());
    }

    [Fact]
    public async Task Overlapping_and_repeated_deliveries_give_the_same_rows_as_one_delivery()
    {
        var script = EngineScript.TwoTraders();
        var events = script.Events;

        var once = await TestDatabase.CreateAsync();
        await using (once)
        {
            await Record(await once.StartRecorderAsync(), events);
            var expected = await once.DumpAsync();

            // Small batches so that the overlaps cross batch (and transaction) boundaries.
            var recorder = await _test.StartRecorderAsync(new EventRecorderOptions { MaxBatch = 3 });
            for (var start = 0; start < events.Count; start += 4)
            {
                var from = Math.Max(0, start - 3);
                recorder.OnEvents(events.Skip(from).Take(start + 4 - from).ToList(), replayed: start % 8 == 0);
            }
            recorder.OnEvents(events, replayed: true);
            await recorder.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(expected, await _test.DumpAsync());
        }
    }

    [Fact]
    public async Task A_restarted_recorder_resumes_from_the_cursor_in_the_database()
    {
        var script = EngineScript.TwoTraders();
        var first = await _test.StartRecorderAsync();
        await Record(first, script.Events.Take(7).ToList());
        await _test.StopAsync(first);

        var second = await _test.StartRecorderAsync();
        await second.WhenRecordedAsync(1).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(EngineScript.LastSequence(script.Events.Take(7).ToList()), second.RecordedEventSequence);

        // Recovery re-creates everything since the snapshot: the first seven again, then the rest.
        await Record(second, script.Events, replayed: true);
        Assert.Equal(script.Events.Count - 7, second.EventsWritten);
        Assert.True(second.EventsSkipped <= 1); // at most the cause of the first new event goes to the writer

        var once = await TestDatabase.CreateAsync();
        await using (once)
        {
            await Record(await once.StartRecorderAsync(), script.Events);
            Assert.Equal(await once.DumpAsync(), await _test.DumpAsync());
        }
    }

    [Fact]
    public async Task A_close_whose_open_is_not_in_the_database_inserts_the_whole_closed_trade()
    {
        var script = EngineScript.TwoTraders();
        var close = script.Events.OfType<TradeClosed>().Single(c => c.Reason == CloseReason.StopLoss);
        var closeIndex = script.Events.IndexOf(close);
        var recorder = await _test.StartRecorderAsync();

        // History begins after a snapshot: only the close and the balance change after it.
        await Record(recorder, script.Events.Skip(closeIndex).ToList());

        await using var db = _test.Context();
        var trade = await db.Trades.SingleAsync();
        Assert.Equal(TradeB, trade.TradeId);
        Assert.Equal("closed", trade.Status);
        Assert.Equal("SHORT", trade.Direction);
        Assert.Equal(100m, trade.Margin);
        Assert.Equal(5, trade.Leverage);
        Assert.Equal(3_500m, trade.OpenPrice);
        Assert.Equal(3_600m, trade.StopLossPrice);
        Assert.Equal(close.Trade.OpenedAtMs, trade.OpenedAtMs);
        Assert.Equal(close.Trade.OpenSequence, trade.OpenSequence);
        Assert.Equal(Guid.Empty, trade.OpenOrderId);
        Assert.Equal(-14.50m, trade.Pnl);
        var entry = await db.Ledger.SingleAsync();
        Assert.Equal(("TRADE_CLOSED", 4_985.50m), (entry.Reason, entry.Free));
    }

    [Fact]
    public async Task A_balance_change_whose_cause_was_not_delivered_is_recorded_as_such()
    {
        var script = EngineScript.TwoTraders();
        var balance = script.Events.OfType<BalanceChanged>().Last();
        var recorder = await _test.StartRecorderAsync();
        await Record(recorder, [balance]);

        await using var db = _test.Context();
        var entry = await db.Ledger.SingleAsync();
        Assert.Equal(LedgerReason.BalanceChanged, entry.Reason);
        Assert.Equal(balance.Header.InputSequence, entry.InputSequence);
        Assert.Equal(balance.Header.EventSequence, entry.EventSequence);
    }

    /// <summary>An order row as the API hands it over (also used by the overflow tests).</summary>
    internal static OrderRecord Order(Guid id, Guid user, string status = OrderStatus.Success, string? key = null) => new(
        id, user, "CREATE_TRADE", """{"asset":"BTC_USDC","margin":500}""", status, status == OrderStatus.Rejected ? "INSUFFICIENT_BALANCE" : "OK",
        status == OrderStatus.Pending ? null : "done", status == OrderStatus.Success ? """{"tradeId":"x"}""" : null,
        LatencyMicros: 812, Sequence: status == OrderStatus.Pending ? 0 : 42, CreatedAtMs: 1_700_000_000_000, IdempotencyKey: key);

    [Fact]
    public async Task Orders_are_written_in_the_same_batches_and_idempotent_by_order_id()
    {
        var script = EngineScript.TwoTraders();
        var recorder = await _test.StartRecorderAsync();
        var pendingId = Guid.NewGuid();
        recorder.RecordOrder(Order(pendingId, UserA, OrderStatus.Pending));
        recorder.OnEvents(script.Events, replayed: false);
        recorder.RecordOrder(Order(pendingId, UserA, OrderStatus.Success));
        recorder.RecordOrder(Order(pendingId, UserA, OrderStatus.Pending)); // late and stale: ignored
        var rejectedId = Guid.NewGuid();
        recorder.RecordOrder(Order(rejectedId, UserB, OrderStatus.Rejected));
        await recorder.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30));
        recorder.RecordOrder(Order(rejectedId, UserB, OrderStatus.Rejected)); // a second delivery
        await recorder.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30));

        await using var db = _test.Context();
        var orders = await db.Orders.ToDictionaryAsync(o => o.OrderId);
        Assert.Equal(2, orders.Count);
        Assert.Equal(("success", "OK", 42L, 812L), (orders[pendingId].Status, orders[pendingId].Code, orders[pendingId].Sequence, orders[pendingId].LatencyMicros));
        Assert.Equal("""{"tradeId":"x"}""", orders[pendingId].ResponseJson);
        Assert.Equal(("rejected", "INSUFFICIENT_BALANCE"), (orders[rejectedId].Status, orders[rejectedId].Code));
        Assert.Equal(2, await db.Trades.CountAsync());
    }

    [Fact]
    public async Task An_order_recovery_re_creates_fills_a_gap_and_never_replaces_the_stored_row()
    {
        var recorder = await _test.StartRecorderAsync();
        Guid stored = Guid.NewGuid(), lost = Guid.NewGuid(), parked = Guid.NewGuid();
        recorder.RecordOrder(Order(stored, UserA, key: "k-stored"));
        await recorder.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30));

        // After a crash: recovery re-creates every journaled order after the snapshot, timed by nobody.
        recorder.RecordOrder(Order(stored, UserA, key: "k-stored") with { LatencyMicros = null, PayloadJson = "{}" });
        recorder.RecordOrder(Order(lost, UserA, key: "k-lost") with { LatencyMicros = null, Sequence = 43 });
        recorder.RecordOrder(Order(parked, UserB) with { LatencyMicros = null, Sequence = 44 });
        await recorder.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30));
        // One that waited in the overflow file through the restart arrives after its re-created twin.
        recorder.RecordOrder(Order(parked, UserB) with { Sequence = 44 });
        await recorder.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30));

        await using var db = _test.Context();
        var orders = await db.Orders.ToDictionaryAsync(o => o.OrderId);
        Assert.Equal(3, orders.Count);
        Assert.Equal((812L, """{"asset":"BTC_USDC","margin":500}"""), (orders[stored].LatencyMicros, orders[stored].PayloadJson));
        Assert.Equal(((long?)null, "k-lost", "success"), (orders[lost].LatencyMicros, orders[lost].IdempotencyKey, orders[lost].Status));
        Assert.Equal(812L, orders[parked].LatencyMicros);
    }

    [Fact]
    public async Task The_order_cursor_follows_the_recorded_commands_and_a_restarted_recorder_knows_it()
    {
        var recorder = await _test.StartRecorderAsync();
        Guid first = Guid.NewGuid(), query = Guid.NewGuid();
        recorder.RecordOrder(Order(first, UserA) with { Sequence = 40 });
        recorder.RecordOrder(Order(query, UserA) with { Command = "GET_BALANCE", Sequence = 0 }); // queries have no sequence
        await recorder.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(40, recorder.RecordedOrderSequence);

        // Re-created by recovery: one the database holds is left as it is; a missing one fills the gap.
        var lost = Guid.NewGuid();
        recorder.RecordOrder(Order(first, UserA) with { Sequence = 40, LatencyMicros = null, PayloadJson = "{}" });
        recorder.RecordOrder(Order(lost, UserA) with { Sequence = 41, LatencyMicros = null });
        await recorder.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30));

        await using (var db = _test.Context())
        {
            var rows = await db.Orders.ToDictionaryAsync(o => o.OrderId);
            Assert.Equal(new[] { first, query, lost }.Order(), rows.Keys.Order());
            Assert.Equal((812L, "{\"asset\":\"BTC_USDC\",\"margin\":500}"), (rows[first].LatencyMicros, rows[first].PayloadJson));
            Assert.Equal(41, (await db.RecorderCursors.SingleAsync()).LastOrderSequence);
        }
        var restarted = await _test.StartRecorderAsync();
        Assert.Equal(41, restarted.RecordedOrderSequence);
    }

    [Fact]
    public async Task An_answered_command_becomes_its_row_on_the_recorders_thread()
    {
        var recorder = await _test.StartRecorderAsync();
        var caller = Environment.CurrentManagedThreadId;
        int? madeOn = null;
        var order = Order(Guid.NewGuid(), UserA);
        var command = new AnsweredCommand(new EngineInput { Kind = InputKind.CreateTrade, OrderId = order.OrderId }, default);
        recorder.RecordOrder(command, replayed: false, (in AnsweredCommand c, bool replayed) =>
        {
            madeOn = Environment.CurrentManagedThreadId;
            Assert.Equal(order.OrderId, c.Input.OrderId);
            return order;
        });
        await recorder.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.NotEqual(caller, madeOn);
        await using var db = _test.Context();
        Assert.Equal(order.OrderId, (await db.Orders.SingleAsync()).OrderId);
    }

    [Fact]
    public async Task A_batch_with_more_trades_and_orders_than_one_look_up_takes_finds_every_stored_one()
    {
        const int count = 2_000; // the recorder looks trades and orders up 800 at a time
        var script = new EngineScript();
        var user = EngineScript.User(1);
        script.CreateAccount(user);
        script.Tick(EngineScript.Btc, 96_420.00m, 96_425.00m);
        for (var n = 1UL; n <= count; n++) script.Open(user, EngineScript.Trade(n), "BTC_USDC", Direction.Long, margin: 1m, leverage: 2m);
        var recorder = await _test.StartRecorderAsync();
        var orders = Enumerable.Range(0, count).Select(_ => Guid.NewGuid()).ToList();
        foreach (var id in orders) recorder.RecordOrder(Order(id, UserA, OrderStatus.Pending));
        await Record(recorder, [.. script.Events]);

        var opened = script.Events.Count;
        for (var n = 1UL; n <= count; n++) script.Close(user, EngineScript.Trade(n));
        foreach (var id in orders) recorder.RecordOrder(Order(id, UserA));
        await Record(recorder, script.Events.Skip(opened).ToList()); // one batch: every close is of a stored trade

        await using var db = _test.Context();
        Assert.Equal(count, await db.Trades.CountAsync(t => t.Status == "closed" && t.ClosePrice != null));
        Assert.Equal(count, await db.Orders.CountAsync(o => o.Status == OrderStatus.Success));
        Assert.Equal(count, await db.Orders.CountAsync());
    }

    [Fact]
    public async Task A_second_order_with_a_used_idempotency_key_is_not_written_and_the_recorder_goes_on()
    {
        var script = EngineScript.TwoTraders();
        var recorder = await _test.StartRecorderAsync();
        var first = Guid.NewGuid();
        recorder.RecordOrder(Order(first, UserA, key: "retry-1"));
        await recorder.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30));

        recorder.RecordOrder(Order(Guid.NewGuid(), UserA, key: "retry-1")); // against the database
        recorder.RecordOrder(Order(Guid.NewGuid(), UserB, key: "retry-1")); // another user's key space
        recorder.RecordOrder(Order(Guid.NewGuid(), UserB, key: "retry-1")); // against the same batch
        recorder.OnEvents(script.Events, replayed: false);
        await recorder.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30));

        await using var db = _test.Context();
        Assert.Equal(first, (await db.Orders.SingleAsync(o => o.UserId == UserA)).OrderId);
        Assert.Single(await db.Orders.Where(o => o.UserId == UserB).ToListAsync());
        Assert.Equal(EngineScript.LastSequence(script.Events), recorder.RecordedEventSequence);
        Assert.Equal(0, recorder.ConsecutiveFailures);
    }

    [Fact]
    public async Task Stopping_writes_what_is_queued()
    {
        var script = EngineScript.TwoTraders();
        var recorder = await _test.StartRecorderAsync();
        recorder.OnEvents(script.Events, replayed: false);
        recorder.RecordOrder(Order(Guid.NewGuid(), UserA));
        await _test.StopAsync(recorder);

        await using var db = _test.Context();
        Assert.Equal(EngineScript.LastSequence(script.Events), (await db.RecorderCursors.SingleAsync()).LastEventSequence);
        Assert.Equal(1, await db.Orders.CountAsync());
    }

    [Fact]
    public async Task A_recorder_more_than_a_batch_behind_hands_over_and_still_records_everything_once()
    {
        var events = EngineScript.TwoTraders().Events;
        var once = await TestDatabase.CreateAsync();
        await using (once)
        {
            await Record(await once.StartRecorderAsync(), events);
            var expected = await once.DumpAsync();

            // Queued before it starts, with two-item batches: the first batch leaves far more than a batch waiting.
            var recorder = new EventRecorder(_test.Factory, new EngineConfig(),
                Microsoft.Extensions.Logging.Abstractions.NullLogger<EventRecorder>.Instance,
                new EventRecorderOptions { MaxBatch = 2 });
            recorder.OnEvents(events, replayed: false);
            var flushed = recorder.FlushAsync();
            await recorder.StartAsync(CancellationToken.None);
            await flushed.WaitAsync(TimeSpan.FromSeconds(30));
            await recorder.StopAsync(CancellationToken.None);
            recorder.Dispose();

            Assert.Equal(expected, await _test.DumpAsync());
            // Only a writer that could lower its priority hands over (Linux).
            if (OperatingSystem.IsLinux()) Assert.True(recorder.CatchUps >= 1);
            else Assert.Equal(0, recorder.CatchUps);
        }
    }
}
