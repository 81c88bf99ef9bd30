using System.Diagnostics;
using System.Globalization;
using Exchange.Data;
using Exchange.Engine;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Exchange.Benchmarks;

/// <summary>
/// What the audit trail costs per command: the <see cref="EventRecorder"/> writing what the
/// API and the engine hand it for CREATE_TRADE / CLOSE_TRADE (half and half, over
/// <c>--traders</c> accounts, as the HTTP load generator does) into a SQLite file set up the
/// way the server sets it up. The events come from a real engine run beforehand and the order
/// rows carry JSON of the API's shape and size, so the recorder sees what a live server gives it.
/// <para>
/// <c>--rate 0</c> queues everything at once and times the drain (most commands/s, in full
/// batches); <c>--rate N</c> hands the commands over at N per second, as the journal would, and
/// reports how far behind the recorder ends. CPU is the process's (nothing else runs).
/// <c>--queue N</c> sets how many items wait in memory (the server's 250,000 by default); what
/// does not fit goes through the overflow file, as it does when the database falls far behind.
/// </para>
/// <code>dotnet run -c Release --project bench/Exchange.Benchmarks -- recorder [--commands 200000] [--warmup 40000] [--traders 200] [--rate 0] [--queue 250000] [--dir PATH]</code>
/// </summary>
public static class RecorderThroughput
{
    public static int Run(string[] args)
    {
        var commands = 200_000;
        var warmup = 40_000;
        var traders = 200;
        var rate = 0;
        var queue = new EventRecorderOptions().QueueCapacity;
        var root = Path.GetTempPath();
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--commands": commands = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--warmup": warmup = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--traders": traders = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--rate": rate = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--queue": queue = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--dir": root = args[i + 1]; break;
                default:
                    Console.Error.WriteLine($"unknown option {args[i]}");
                    return 2;
            }
        }

        var work = RecorderWorkload.Create(traders, warmup + commands);
        Console.WriteLine($"recorder throughput: {commands:N0} commands after {warmup:N0} warm-up, {traders} traders, " +
            $"{(rate == 0 ? "all queued at once" : $"{rate:N0}/s")}, {queue:N0} items in memory; {Environment.ProcessorCount} cores, load average {Load.Average()}");

        var directory = Path.Combine(root, "recorder-throughput-" + Guid.NewGuid().ToString("N"));
        try
        {
            return MeasureAsync(directory, work, warmup, rate, queue).GetAwaiter().GetResult();
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task<int> MeasureAsync(string directory, RecorderWorkload work, int warmup, int rate, int queue)
    {
        await using var services = new ServiceCollection()
            .AddLogging(b => b.SetMinimumLevel(LogLevel.Warning))
            .AddExchangeDatabase(databaseUrl: null, dataDirectory: directory)
            .BuildServiceProvider();
        var factory = services.GetRequiredService<IDbContextFactory<ExchangeDbContext>>();
        await ExchangeDatabase.MigrateAsync(factory);
        using var recorder = new EventRecorder(factory, new EngineConfig(), services.GetRequiredService<ILogger<EventRecorder>>(),
            new EventRecorderOptions { QueueCapacity = queue, OverflowDirectory = Path.Combine(directory, "recorder-overflow") });
        await recorder.StartAsync(CancellationToken.None);

        // Accounts and the warm-up commands: JIT, caches, and a database that is not empty.
        foreach (var events in work.Accounts) recorder.OnEvents(events, replayed: false);
        for (var i = 0; i < warmup; i++) Hand(recorder, work.Commands[i]);
        await recorder.FlushAsync();

        var measured = work.Commands.Count - warmup;
        var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: false);
        var gcBefore = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
        var clock = Stopwatch.StartNew();
        var behindAtEnd = 0;
        if (rate == 0)
        {
            for (var i = warmup; i < work.Commands.Count; i++) Hand(recorder, work.Commands[i]);
        }
        else
        {
            // Every millisecond, the commands that are due: an open loop, like the journal's deliveries.
            var next = warmup;
            while (next < work.Commands.Count)
            {
                var due = warmup + (int)Math.Min(measured, clock.Elapsed.TotalSeconds * rate);
                for (; next < due; next++) Hand(recorder, work.Commands[next]);
                Thread.Sleep(1);
            }
            behindAtEnd = recorder.QueueLength;
        }
        var handedOver = clock.Elapsed;
        await recorder.FlushAsync();
        var elapsed = clock.Elapsed;
        process.Refresh();
        var cpu = process.TotalProcessorTime - cpuBefore;
        var allocated = GC.GetTotalAllocatedBytes(precise: false) - allocatedBefore;
        var gc = (GC.CollectionCount(0) - gcBefore.Item1, GC.CollectionCount(1) - gcBefore.Item2, GC.CollectionCount(2) - gcBefore.Item3);

        Console.WriteLine($"  {measured / elapsed.TotalSeconds,10:N0} commands/s recorded ({measured:N0} in {elapsed.TotalSeconds:N2} s" +
            (rate == 0 ? $"; handed over in {handedOver.TotalSeconds:N2} s)" : $"; handed over in {handedOver.TotalSeconds:N2} s, {behindAtEnd:N0} items still queued then)"));
        Console.WriteLine($"  {recorder.Overflowed:N0} items went through the overflow file");
        Console.WriteLine($"  CPU {cpu.TotalMicroseconds / measured:N1} us per command ({cpu.TotalSeconds / elapsed.TotalSeconds:P0} of one core), " +
            $"allocated {allocated / measured:N0} bytes per command, GCs gen0 {gc.Item1} gen1 {gc.Item2} gen2 {gc.Item3}");
        var file = new FileInfo(Path.Combine(directory, DatabaseSettings.SqliteFileName));
        var wal = new FileInfo(file.FullName + "-wal");
        Console.WriteLine($"  database {file.Length / 1e6:N1} MB, WAL {(wal.Exists ? wal.Length / 1e6 : 0):N1} MB, " +
            $"{recorder.EventsWritten:N0} events and {recorder.OrdersWritten:N0} orders written in all");
        await recorder.StopAsync(CancellationToken.None);

        await using var db = await factory.CreateDbContextAsync();
        var orders = await db.Orders.CountAsync();
        if (orders != work.Commands.Count)
        {
            Console.Error.WriteLine($"expected {work.Commands.Count:N0} order rows, found {orders:N0}");
            return 1;
        }
        return recorder.RecordedEventSequence == work.LastEventSequence ? 0 : 1;
    }

    private static void Hand(EventRecorder recorder, RecorderWorkload.Command command)
    {
        recorder.OnEvents(command.Events, replayed: false);
        recorder.RecordOrder(command.Order);
    }
}

/// <summary>The inputs of a recorder run: events of a real engine run and the API's order rows for them.</summary>
internal sealed class RecorderWorkload
{
    private static readonly decimal[] Bids = [95_000.00m, 3_500.00m, 180.00m];

    public sealed record Command(IReadOnlyList<object> Events, OrderRecord Order);

    public List<IReadOnlyList<object>> Accounts { get; } = [];
    public List<Command> Commands { get; } = [];
    public long LastEventSequence { get; private set; }

    public static RecorderWorkload Create(int traders, int commands)
    {
        var work = new RecorderWorkload();
        var engine = new TradingEngine(new EngineConfig());
        var sink = new CollectingSink();
        var assets = new EngineConfig().Assets;
        long sequence = 0, now = 1_800_000_000_000;
        void Tick(int asset)
        {
            // The same price each time: no stop or liquidation fires, the books only stay fresh.
            var bid = Price.FromDecimal(Bids[asset]);
            var input = EngineInput.Tick(++sequence, now, new AssetId(asset), bid, new Price(bid.Raw + bid.Raw / 100_000));
            engine.Apply(in input, sink);
        }
        for (var a = 0; a < Bids.Length; a++) Tick(a);
        var users = new UserId[traders];
        var open = new TradeId?[traders];
        for (var t = 0; t < traders; t++)
        {
            users[t] = new UserId(Guid.CreateVersion7(DateTimeOffset.FromUnixTimeMilliseconds(now)));
            var input = EngineInput.CreateAccount(++sequence, now, users[t], Guid.CreateVersion7());
            engine.Apply(in input, sink);
            work.Accounts.Add(sink.Take());
        }
        ulong tradeCounter = 0;
        for (var i = 0; i < commands; i++)
        {
            // 10,000 commands a second of simulated time: ids and timestamps advance as on a busy server.
            now = 1_800_000_000_000 + i / 10;
            if (i % 100 == 0) Tick(i / 100 % Bids.Length);
            var t = i % traders;
            var orderId = Guid.CreateVersion7(DateTimeOffset.FromUnixTimeMilliseconds(now));
            EngineInput input;
            string payload;
            if (open[t] is { } id)
            {
                input = EngineInput.CloseTrade(++sequence, now, users[t], id, orderId);
                payload = $$"""{"command":"CLOSE_TRADE","asset":null,"direction":null,"margin":null,"leverage":null,"stopLossPrice":null,"takeProfitPrice":null,"tradeId":"{{id}}"}""";
                open[t] = null;
            }
            else
            {
                var asset = assets[i % assets.Count].Symbol;
                var direction = i % 4 < 2 ? Direction.Long : Direction.Short;
                id = new TradeId(new UInt128(((ulong)now << 16) | (ushort)i, ++tradeCounter));
                input = EngineInput.CreateTrade(++sequence, now, users[t], id, asset, direction, 10m, 10m, orderId: orderId);
                payload = $$"""{"command":"CREATE_TRADE","asset":"{{asset}}","direction":"{{direction.Name()}}","margin":10,"leverage":10,"stopLossPrice":null,"takeProfitPrice":null,"tradeId":null}""";
                open[t] = id;
            }
            engine.Apply(in input, sink);
            if (!sink.Reply.Accepted) throw new InvalidOperationException($"command {i} rejected: {sink.Reply.Code}");
            var events = sink.Take();
            var order = new OrderRecord(orderId, users[t].Value, input.Kind == InputKind.CreateTrade ? "CREATE_TRADE" : "CLOSE_TRADE",
                payload, OrderStatus.Success, RejectCode.None.Name(), RejectCode.None.Message(), Response(events), 180, sequence, now);
            work.Commands.Add(new Command(events, order));
        }
        work.LastEventSequence = sink.LastEventSequence;
        return work;
    }

    /// <summary>The reply's data as the API serializes it: the trade opened, or the close's outcome.</summary>
    private static string Response(List<object> events) => events[0] switch
    {
        TradeOpened o => string.Create(CultureInfo.InvariantCulture,
            $$"""{"tradeId":"{{o.Trade.Id}}","asset":"BTC_USDC","direction":"{{o.Trade.Direction.Name()}}","openPrice":{{o.Trade.OpenPrice.ToDecimal()}},"quantity":{{o.Trade.Quantity.ToDecimal()}},"margin":10,"leverage":10,"liquidationPrice":{{o.Trade.LiquidationPrice.ToDecimal()}},"stopLossPrice":null,"takeProfitPrice":null,"openedAt":{{o.Trade.OpenedAtMs}}}"""),
        TradeClosed c => string.Create(CultureInfo.InvariantCulture,
            $$"""{"tradeId":"{{c.Trade.Id}}","closePrice":{{c.ClosePrice.ToDecimal()}},"pnl":{{c.Pnl.ToDecimal()}},"payout":{{c.Payout.ToDecimal()}},"reason":"{{c.Reason.Name()}}"}"""),
        _ => "{}",
    };

    private sealed class CollectingSink : IEngineSink
    {
        private List<object> _events = [];
        public CommandReply Reply { get; private set; }
        public long LastEventSequence { get; private set; }

        public List<object> Take()
        {
            var taken = _events;
            _events = [];
            return taken;
        }

        public void OnReply(in CommandReply reply) => Reply = reply;
        public void OnAccountCreated(in AccountCreated e) => Add(e, e.Header);
        public void OnTradeOpened(in TradeOpened e) => Add(e, e.Header);
        public void OnTradeClosed(in TradeClosed e) => Add(e, e.Header);
        public void OnBalanceChanged(in BalanceChanged e) => Add(e, e.Header);

        private void Add(object e, EventHeader header)
        {
            _events.Add(e);
            LastEventSequence = header.EventSequence;
        }
    }
}
