using Exchange.Engine;

namespace Exchange.Journal.Tests;

public sealed class SnapshotFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("exchange-snapshots-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A random but valid state: accounts, ticks and open trades (seeded, so failures replay).</summary>
    internal static TradingEngine RandomEngine(int seed, int traders = 20, int trades = 200)
    {
        var random = new Random(seed);
        var engine = new TradingEngine(new EngineConfig());
        var sink = new NullSink();
        long seq = 0, now = 1_700_000_000_000;
        var mids = new[] { 95_000m, 3_500m, 240m };
        for (var u = 0; u < traders; u++)
            engine.Apply(EngineInput.CreateAccount(++seq, now, new UserId(new Guid(u + 1, 0, 0, new byte[8]))), sink);
        for (var i = 0; i < trades; i++)
        {
            var asset = random.Next(3);
            mids[asset] *= 1 + (random.Next(-100, 101) / 10_000m);
            var mid = decimal.Round(mids[asset], 2);
            engine.Apply(EngineInput.Tick(++seq, now += 100, new AssetId(asset), Price.FromDecimal(mid - 0.05m), Price.FromDecimal(mid + 0.05m)), sink);
            var user = new UserId(new Guid(random.Next(traders) + 1, 0, 0, new byte[8]));
            var direction = random.Next(2) == 0 ? Direction.Long : Direction.Short;
            decimal? stop = random.Next(3) == 0 ? decimal.Round(direction == Direction.Long ? mid * 0.97m : mid * 1.03m, 2) : null;
            engine.Apply(EngineInput.CreateTrade(++seq, now, user, new TradeId(new UInt128((ulong)seed, (ulong)i)),
                EngineConfig.DefaultAssets[asset].Symbol, direction, random.Next(1, 200), random.Next(1, 51), stop), sink);
        }
        return engine;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Snapshot_round_trip_keeps_the_state_hash(int seed)
    {
        var engine = RandomEngine(seed);
        var path = Path.Combine(_dir, "s.snap");
        var header = SnapshotFile.Write(path, engine.CaptureImage(), createdAtMs: 42);

        var (image, read) = SnapshotFile.Read(path);
        var restored = TradingEngine.Restore(engine.Config, image);

        Assert.Equal(engine.StateHash(), header.StateHash);
        Assert.Equal(header, read);
        Assert.Equal(engine.StateHash(), restored.StateHash());
        Assert.Equal(engine.LastSequence, read.LastSequence);
        Assert.Equal(42, read.CreatedAtMs);
        Assert.Equal(engine.OpenTradeCount, restored.OpenTradeCount);
    }

    /// <summary>
    /// Megabytes of state: the decompressor hands out short reads at its block boundaries,
    /// which once cut a field in two and made every large snapshot look corrupt.
    /// </summary>
    [Fact]
    public void A_large_snapshot_round_trips()
    {
        var engine = RandomEngine(seed: 6, traders: 2_000, trades: 30_000);
        var path = Path.Combine(_dir, "large.snap");
        var header = SnapshotFile.Write(path, engine.CaptureImage(), createdAtMs: 7);

        var (image, read) = SnapshotFile.Read(path);

        Assert.Equal(header, read);
        Assert.Equal(engine.OpenTradeCount, image.Trades().Count()); // before Restore takes the image's array over
        Assert.Equal(engine.StateHash(), TradingEngine.Restore(engine.Config, image).StateHash());
    }

    [Fact]
    public void A_flipped_byte_anywhere_in_a_snapshot_is_detected()
    {
        var engine = RandomEngine(seed: 7, traders: 3, trades: 10);
        var path = Path.Combine(_dir, "s.snap");
        SnapshotFile.Write(path, engine.CaptureImage(), createdAtMs: 1);
        var original = File.ReadAllBytes(path);
        var corrupt = Path.Combine(_dir, "corrupt.snap");
        for (var offset = 0; offset < original.Length; offset++)
        {
            var bytes = (byte[])original.Clone();
            bytes[offset] ^= 0x10;
            File.WriteAllBytes(corrupt, bytes);
            Assert.Throws<SnapshotCorruptException>(() => SnapshotFile.Read(corrupt));
        }
    }

    [Fact]
    public void A_truncated_snapshot_is_detected()
    {
        var path = Path.Combine(_dir, "s.snap");
        SnapshotFile.Write(path, RandomEngine(seed: 8).CaptureImage(), createdAtMs: 1);
        var original = File.ReadAllBytes(path);
        foreach (var length in new[] { 0, 10, 135, 136, original.Length / 2, original.Length - 1 })
        {
            File.WriteAllBytes(path, original[..length]);
            Assert.Throws<SnapshotCorruptException>(() => SnapshotFile.Read(path));
        }
    }

    [Fact]
    public void Any_balance_change_changes_the_checksum()
    {
        var image = RandomEngine(seed: 9).CaptureImage();
        var a = SnapshotFile.Write(Path.Combine(_dir, "a.snap"), image, createdAtMs: 1);
        for (var i = 0; i < image.Accounts.Length; i++)
        {
            var changed = (AccountImage[])image.Accounts.Clone();
            changed[i] = changed[i] with { Free = changed[i].Free + new Usd(1) };
            var b = SnapshotFile.Write(Path.Combine(_dir, "b.snap"), Copy(image, changed), createdAtMs: 1);
            Assert.NotEqual(a.StateHash, b.StateHash);
            Assert.NotEqual(a.PayloadSha256, b.PayloadSha256);
        }
    }

    [Fact]
    public void Store_loads_the_newest_valid_snapshot_and_skips_corrupt_ones()
    {
        var store = new SnapshotStore(_dir, maxSnapshots: 3);
        var engine = RandomEngine(seed: 10);
        var older = store.Write(engine.CaptureImage(), createdAtMs: 1);
        var sink = new NullSink();
        engine.Apply(EngineInput.CreateAccount(engine.LastSequence + 1, 1, new UserId(Guid.NewGuid())), sink);
        store.Write(engine.CaptureImage(), createdAtMs: 2);
        var newest = store.List()[0];
        var bytes = File.ReadAllBytes(newest.Path);
        bytes[^5] ^= 0xff;
        File.WriteAllBytes(newest.Path, bytes);

        var skipped = new List<SnapshotCorruptException>();
        var loaded = store.LoadNewestValid(skipped.Add);

        Assert.NotNull(loaded);
        Assert.Equal(older.LastSequence, loaded.Value.Header.LastSequence);
        Assert.Equal(newest.Path, Assert.Single(skipped).Path);
    }

    [Fact]
    public void Store_keeps_only_the_newest_snapshots()
    {
        var store = new SnapshotStore(_dir, maxSnapshots: 2);
        var engine = RandomEngine(seed: 11, traders: 2, trades: 2);
        var sink = new NullSink();
        for (var i = 0; i < 4; i++)
        {
            engine.Apply(EngineInput.CreateAccount(engine.LastSequence + 1, 1, new UserId(Guid.NewGuid())), sink);
            store.Write(engine.CaptureImage(), createdAtMs: i);
        }
        var oldestKept = store.Prune();
        var left = store.List();
        Assert.Equal(2, left.Count);
        Assert.Equal(left[^1].LastSequence, oldestKept);
        Assert.Equal(engine.LastSequence, left[0].LastSequence);
    }

    private static StateImage Copy(StateImage image, AccountImage[] accounts) => new()
    {
        LastSequence = image.LastSequence, EventSequence = image.EventSequence, InsuranceFund = image.InsuranceFund,
        HousePnl = image.HousePnl, TotalDeposits = image.TotalDeposits, IgnoredTicks = image.IgnoredTicks,
        Markets = image.Markets, Accounts = accounts, TradeSlots = image.TradeSlots, TradeSlotCount = image.TradeSlotCount,
    };
}

internal sealed class NullSink : IEngineSink
{
    public void OnReply(in CommandReply reply) { }
    public void OnAccountCreated(in AccountCreated e) { }
    public void OnTradeOpened(in TradeOpened e) { }
    public void OnTradeClosed(in TradeClosed e) { }
    public void OnBalanceChanged(in BalanceChanged e) { }
}
