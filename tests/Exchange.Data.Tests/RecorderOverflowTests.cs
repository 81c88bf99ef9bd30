using System.Buffers;
using System.Diagnostics;
using Exchange.Engine;
using Exchange.Journal;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;

namespace Exchange.Data.Tests;

/// <summary>
/// The recorder while the database is away: the engine's calls return at once whatever the
/// queue holds, items beyond memory wait in the overflow file, and nothing is lost or reordered.
/// The database is a real SQLite file; "away" is its cursor table renamed, so every batch fails.
/// </summary>
public sealed class RecorderOverflowTests : IAsyncLifetime
{
    private static readonly Guid Trader = EngineScript.User(1).Value;

    private TestDatabase _test = null!;

    public async Task InitializeAsync() => _test = await TestDatabase.CreateAsync();

    public async Task DisposeAsync() => await _test.DisposeAsync();

    [Fact]
    public void Every_kind_of_item_comes_back_from_the_overflow_file_as_it_went_in()
    {
        var items = new List<object>(EngineScript.TwoTraders().Events)
        {
            EventRecorderTests.Order(Guid.NewGuid(), Trader, key: "retry-1"),
            EventRecorderTests.Order(Guid.NewGuid(), Trader) with { Message = null, ResponseJson = null, PayloadJson = "" },
            EventRecorderTests.Order(Guid.NewGuid(), Trader) with { PayloadJson = "{\"note\":\"ünïcødé ✓ 🚀 ' \\\" <b>\"}", Message = new string('x', 1 << 20) },
            EventRecorderTests.Order(Guid.NewGuid(), Trader) with { LatencyMicros = null }, // re-created by recovery: nobody timed it
        };
        Assert.Contains(items, i => i is AccountCreated);
        Assert.Contains(items, i => i is TradeClosed { Reason: CloseReason.StopLoss });
        var buffer = new ArrayBufferWriter<byte>();
        foreach (var item in items)
        {
            buffer.ResetWrittenCount();
            RecorderItemCodec.Encode(item, buffer);
            var (_, decoded) = RecorderItemCodec.Decode(buffer.WrittenSpan);
            Assert.Equal(item, decoded);
        }

        buffer.ResetWrittenCount();
        RecorderItemCodec.Encode(new FlushMarker(), buffer);
        Assert.Equal((RecorderItemCodec.Kind.FlushMarker, (object?)null), RecorderItemCodec.Decode(buffer.WrittenSpan));
        Assert.Equal((default(RecorderItemCodec.Kind), (object?)null), RecorderItemCodec.Decode([2, 1, 0, 0])); // another version
    }

    [Fact]
    public void The_input_an_item_came_from_is_read_without_decoding_it()
    {
        var events = EngineScript.TwoTraders().Events;
        Assert.Contains(events, e => e is TradeOpened);
        Assert.Contains(events, e => e is BalanceChanged);
        var buffer = new ArrayBufferWriter<byte>();
        foreach (var item in events)
        {
            buffer.ResetWrittenCount();
            RecorderItemCodec.Encode(item, buffer);
            var header = item switch
            {
                AccountCreated a => a.Header,
                TradeOpened o => o.Header,
                TradeClosed c => c.Header,
                BalanceChanged b => b.Header,
                _ => throw new InvalidOperationException(item.GetType().Name),
            };
            Assert.Equal(header.InputSequence, RecorderItemCodec.InputSequenceOf(buffer.WrittenSpan));
        }
        buffer.ResetWrittenCount();
        RecorderItemCodec.Encode(EventRecorderTests.Order(Guid.NewGuid(), Trader) with { Sequence = 4_321 }, buffer);
        Assert.Equal(4_321, RecorderItemCodec.InputSequenceOf(buffer.WrittenSpan));
        buffer.ResetWrittenCount();
        RecorderItemCodec.Encode(new FlushMarker(), buffer);
        Assert.Equal(0, RecorderItemCodec.InputSequenceOf(buffer.WrittenSpan));
        Assert.Equal(0, RecorderItemCodec.InputSequenceOf([2, 5, 0, 0])); // another version
    }

    [Fact]
    public void The_overflow_file_format_changes_only_under_a_new_version_byte()
    {
        // A file outlives a restart, and an upgrade may find one: these bytes are what version 1 reads.
        var balance = new BalanceChanged(new EventHeader(7, 5, 1_700_000_000_123, new Guid(1, 2, 3, [4, 5, 6, 7, 8, 9, 10, 11])),
            EngineScript.User(9), new Usd(123_456), new Usd(-1));
        var order = new OrderRecord(new Guid(3, 2, 1, [0, 0, 0, 0, 0, 0, 0, 1]), EngineScript.User(9).Value, "CLOSE_TRADE", "{}", "success",
            "OK", null, "[]", 812, 42, 1_700_000_000_000, "k");
        Assert.Equal(GoldenBalance, Hex(balance));
        Assert.Equal(GoldenOrder, Hex(order));
    }

    private const string GoldenBalance =
        "0104" + "070000000000000005000000000000007B68E5CF8B01000001000000020003000405060708090A0B" +
        "09000000000000000000000000000000" + "40E2010000000000" + "FFFFFFFFFFFFFFFF";
    private const string GoldenOrder =
        "0105" + "03000000020001000000000000000001" + "09000000000000000000000000000000" +
        "2C03000000000000" + "2A00000000000000" + "0068E5CF8B010000" +
        "0B000000434C4F53455F5452414445" + "020000007B7D" + "0700000073756363657373" + "020000004F4B" + "FFFFFFFF" + "020000005B5D" + "010000006B";

    private static string Hex(object item)
    {
        var buffer = new ArrayBufferWriter<byte>();
        RecorderItemCodec.Encode(item, buffer);
        return Convert.ToHexString(buffer.WrittenSpan);
    }

    [Fact]
    public async Task While_the_database_is_away_the_engine_is_never_held_and_nothing_is_lost_or_reordered()
    {
        var script = ManyTrades(traders: 1_500);
        var orders = Enumerable.Range(0, 300).Select(_ => EventRecorderTests.Order(Guid.CreateVersion7(), Trader)).ToList();
        var expected = await DumpOfStraightRunAsync(script.Events, orders);

        var recorder = await StartedRecorderAsync();
        await DatabaseAwayAsync(true);
        var delivered = Stopwatch.StartNew();
        foreach (var chunk in script.Events.Chunk(100)) recorder.OnEvents(chunk, replayed: false);
        foreach (var order in orders) recorder.RecordOrder(order);
        delivered.Stop();
        var flushed = recorder.FlushAsync();
        await WaitUntilAsync(() => recorder.ConsecutiveFailures >= 2);

        // Delivery returned with the database still away, so nothing waited for it; the bound catches a wait per batch.
        Assert.True(delivered.Elapsed < TimeSpan.FromSeconds(30), $"delivery took {delivered.Elapsed}");
        Assert.True(recorder.Overflowed > script.Events.Count, $"{recorder.Overflowed} overflowed");
        Assert.True(Directory.Exists(_test.OverflowDirectory));
        Assert.False(flushed.IsCompleted);
        // All waits, but a batch the writer took before the first failure (up to MaxBatch items) is its own, not the queue's.
        var waiting = script.Events.Count + orders.Count + 1;
        Assert.True(recorder.QueueLength >= waiting - SmallQueue().MaxBatch, $"{recorder.QueueLength} of {waiting} queued");

        await DatabaseAwayAsync(false);
        await flushed.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(EngineScript.LastSequence(script.Events), recorder.RecordedEventSequence);
        Assert.Equal(expected, await _test.DumpAsync());
        await WaitUntilAsync(() => !Directory.Exists(_test.OverflowDirectory)); // drained and committed: deleted
        Assert.Equal(0, recorder.QueueLength);

        // Memory serves again.
        var overflowed = recorder.Overflowed;
        recorder.RecordOrder(EventRecorderTests.Order(Guid.CreateVersion7(), Trader));
        await recorder.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(overflowed, recorder.Overflowed);
    }

    [Fact]
    public async Task Orders_the_database_did_not_take_at_shutdown_are_written_at_the_next_start()
    {
        var script = EngineScript.TwoTraders();
        var orders = Enumerable.Range(0, 50).Select(_ => EventRecorderTests.Order(Guid.CreateVersion7(), Trader)).ToList();
        var first = await StartedRecorderAsync();
        await DatabaseAwayAsync(true);
        first.OnEvents(script.Events, replayed: false);
        foreach (var order in orders) first.RecordOrder(order);
        await StopWhileTheDatabaseIsAwayAsync(first);
        Assert.True(Directory.Exists(_test.OverflowDirectory));
        var second = await _test.StartRecorderAsync();
        await second.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await using (var db = _test.Context())
        {
            Assert.Equal(orders.Select(o => o.OrderId).Order(), (await db.Orders.Select(o => o.OrderId).ToListAsync()).Order());
            // The events in the file are left to recovery, which delivers them again in order.
            Assert.Equal(0, await db.Ledger.CountAsync());
        }
        second.OnEvents(script.Events, replayed: true);
        await second.WhenRecordedAsync(EngineScript.LastSequence(script.Events)).WaitAsync(TimeSpan.FromSeconds(30));
        await using (var db = _test.Context())
            Assert.Equal(6, await db.Ledger.CountAsync());
        await WaitUntilAsync(() => !Directory.Exists(_test.OverflowDirectory));
    }

    /// <summary>
    /// After a crash, an earlier run's overflow file may hold orders newer than the ones recovery
    /// re-creates from the journal (those waited in memory). Both must land, and the order cursor
    /// (which tells the next recovery what to skip) must not jump past the re-created ones.
    /// </summary>
    [Fact]
    public async Task Orders_left_in_the_overflow_file_do_not_move_the_order_cursor_past_those_recovery_re_creates()
    {
        var leftover = Enumerable.Range(50, 10).Select(s => EventRecorderTests.Order(Guid.CreateVersion7(), Trader) with { Sequence = s }).ToList();
        var first = await StartedRecorderAsync();
        await DatabaseAwayAsync(true);
        foreach (var order in leftover) first.RecordOrder(order);
        await StopWhileTheDatabaseIsAwayAsync(first);

        var second = await _test.StartRecorderAsync();
        await second.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30)); // the leftovers first
        var recreated = Enumerable.Range(40, 10)
            .Select(s => EventRecorderTests.Order(Guid.CreateVersion7(), Trader) with { Sequence = s, LatencyMicros = null }).ToList();
        foreach (var order in recreated) second.RecordOrder(order);
        await second.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30));

        await using var db = _test.Context();
        Assert.Equal(leftover.Concat(recreated).Select(o => o.OrderId).Order(), (await db.Orders.Select(o => o.OrderId).ToListAsync()).Order());
        Assert.Equal(49, (await db.RecorderCursors.SingleAsync()).LastOrderSequence);
    }

    [Fact]
    public async Task Answered_commands_the_database_did_not_take_at_shutdown_are_written_at_the_next_start()
    {
        var orders = Enumerable.Range(0, 20).Select(i => EventRecorderTests.Order(Guid.CreateVersion7(), Trader) with { Sequence = i + 1 }).ToList();
        var first = await StartedRecorderAsync();
        await DatabaseAwayAsync(true);
        foreach (var order in orders)
            first.RecordOrder(new AnsweredCommand(new EngineInput { OrderId = order.OrderId }, default), replayed: false,
                (in AnsweredCommand c, bool _) => RowOf(c.Input.OrderId));
        OrderRecord RowOf(Guid id) => orders.Single(o => o.OrderId == id);
        await StopWhileTheDatabaseIsAwayAsync(first);

        var second = await _test.StartRecorderAsync();
        await second.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await using var db = _test.Context();
        Assert.Equal(orders.Select(o => o.OrderId).Order(), (await db.Orders.Select(o => o.OrderId).ToListAsync()).Order());
    }

    [Fact]
    public async Task A_flush_behind_overflowed_items_completes_once_they_are_written()
    {
        var script = EngineScript.TwoTraders();
        var recorder = new EventRecorder(_test.Factory, new EngineConfig(), NullLogger<EventRecorder>.Instance,
            SmallQueue() with { QueueCapacity = 2 });
        try
        {
            recorder.OnEvents(script.Events, replayed: false); // not started: all but two go to the file
            var flushed = recorder.FlushAsync();
            Assert.False(flushed.IsCompleted);
            Assert.Equal(script.Events.Count - 2 + 1, recorder.Overflowed);

            await recorder.StartAsync(CancellationToken.None);
            await flushed.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(EngineScript.LastSequence(script.Events), recorder.RecordedEventSequence);
            await recorder.StopAsync(CancellationToken.None);
        }
        finally
        {
            recorder.Dispose();
        }
        await using var db = _test.Context();
        Assert.Equal(6, await db.Ledger.CountAsync());
        Assert.False(Directory.Exists(_test.OverflowDirectory));
    }

    /// <summary>
    /// Started, with its cursor loaded: its writer has lowered its priority (as the other tests'
    /// recorders, which EventRecorderTests looks at, expect) before the database goes away.
    /// </summary>
    private async Task<EventRecorder> StartedRecorderAsync()
    {
        var recorder = await _test.StartRecorderAsync(SmallQueue());
        await recorder.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return recorder;
    }

    private EventRecorderOptions SmallQueue() => new()
    {
        QueueCapacity = 64,
        MaxBatch = 500,
        MaxRetryDelay = TimeSpan.FromMilliseconds(200),
        OverflowDirectory = _test.OverflowDirectory,
    };

    /// <summary>What the database holds after the same items went through a recorder that never waited.</summary>
    private static async Task<string> DumpOfStraightRunAsync(IReadOnlyList<object> events, IReadOnlyList<OrderRecord> orders)
    {
        await using var once = await TestDatabase.CreateAsync();
        var recorder = await once.StartRecorderAsync();
        recorder.OnEvents(events, replayed: false);
        foreach (var order in orders) recorder.RecordOrder(order);
        await recorder.FlushAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return await once.DumpAsync();
    }

    /// <summary>Stops a recorder whose database refuses writes (it parks its orders in the overflow file), then brings the database back.</summary>
    private async Task StopWhileTheDatabaseIsAwayAsync(EventRecorder recorder)
    {
        await WaitUntilAsync(() => recorder.ConsecutiveFailures >= 1);
        using (var shutdownTimeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(500)))
            await recorder.StopAsync(shutdownTimeout.Token);
        recorder.Dispose();
        await DatabaseAwayAsync(false);
    }

    private async Task DatabaseAwayAsync(bool away)
    {
        await using var db = _test.Context();
        await db.Database.ExecuteSqlRawAsync(away
            ? """ALTER TABLE "RecorderCursor" RENAME TO "RecorderCursorAway";"""
            : """ALTER TABLE "RecorderCursorAway" RENAME TO "RecorderCursor";""");
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 30 s");
            await Task.Delay(20);
        }
    }

    /// <summary>Each trader signs up, opens a trade and closes it: a few events per trader.</summary>
    private static EngineScript ManyTrades(int traders)
    {
        var s = new EngineScript();
        s.Tick(EngineScript.Btc, 96_420.00m, 96_425.00m);
        for (var i = 1; i <= traders; i++)
        {
            s.CreateAccount(EngineScript.User(i));
            s.Open(EngineScript.User(i), EngineScript.Trade((ulong)i), "BTC_USDC", i % 2 == 0 ? Direction.Long : Direction.Short,
                margin: 100m + i, leverage: 1 + i % 100);
            if (i % 3 != 0) s.Close(EngineScript.User(i), EngineScript.Trade((ulong)i));
        }
        return s;
    }
}
