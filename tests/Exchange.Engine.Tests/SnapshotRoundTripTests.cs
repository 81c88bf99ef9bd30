using CsCheck;
using static Exchange.Engine.Tests.EngineHarness;

namespace Exchange.Engine.Tests;

/// <summary>
/// Snapshots of random states (DESIGN §3): encoding, decoding and restoring keeps the state
/// hash; a restored engine continues exactly like one that never stopped, even when the log
/// replay overlaps the snapshot; and the hash sees every cent.
/// </summary>
public sealed class SnapshotRoundTripTests
{
    private const int Iterations = 300;

    /// <summary>A workload and where in it to take the snapshot (per mille of its inputs).</summary>
    private static readonly Gen<(Op[] Ops, int CutPerMille)> WorkloadsWithCut =
        Gen.Select(WorkloadGenerator.Workload(), Gen.Int[0, 1_000]);

    private static string Print((Op[] Ops, int CutPerMille) t) => $"cut at {t.CutPerMille}‰ of " + WorkloadGenerator.Print(t.Ops);

    private static int CutIndex(IReadOnlyList<EngineInput> inputs, int perMille) => inputs.Count * perMille / 1_000;

    private static byte[] Encode(StateImage image)
    {
        using var stream = new MemoryStream();
        StateCodec.Write(image, stream);
        return stream.ToArray();
    }

    private static TradingEngine RestoreFrom(byte[] snapshot)
    {
        using var stream = new MemoryStream(snapshot);
        return TradingEngine.Restore(WorkloadRunner.Config, StateCodec.Read(stream));
    }

    [Fact]
    public void An_image_copied_into_an_earlier_images_array_encodes_like_a_fresh_copy() =>
        WorkloadsWithCut.Sample((ops, cutPerMille) =>
        {
            var inputs = Workload.Build(ops).Inputs;
            var engine = new TradingEngine(WorkloadRunner.Config);
            var cut = CutIndex(inputs, cutPerMille);
            WorkloadRunner.Run(engine, inputs, 0, cut);
            // An earlier image's array, longer than needed and full of other trades.
            var earlier = engine.CaptureImage();
            var buffer = new TradeView[earlier.TradeSlotCount + 50];
            Array.Fill(buffer, earlier.TradeSlotCount > 0 ? earlier.TradeSlots[0] : default);
            WorkloadRunner.Run(engine, inputs, cut, inputs.Count);

            var reused = engine.CaptureImage(buffer);
            var fresh = engine.CaptureImage();

            Assert.Equal(Encode(fresh), Encode(reused));
            // Used when long enough, never when too short (the copy would not fit).
            Assert.Equal(buffer.Length >= fresh.TradeSlotCount, ReferenceEquals(buffer, reused.TradeSlots));
            if (fresh.TradeSlotCount > 0)
            {
                var tooShort = new TradeView[fresh.TradeSlotCount - 1];
                Assert.NotSame(tooShort, engine.CaptureImage(tooShort).TradeSlots);
            }
        }, iter: Iterations / 3, print: Print);

    [Fact]
    public void Snapshot_round_trip_keeps_the_state_hash() =>
        WorkloadsWithCut.Sample((ops, cutPerMille) =>
        {
            var inputs = Workload.Build(ops).Inputs;
            var engine = new TradingEngine(WorkloadRunner.Config);
            WorkloadRunner.Run(engine, inputs, 0, CutIndex(inputs, cutPerMille));

            var bytes = Encode(engine.CaptureImage());
            var restored = RestoreFrom(bytes);

            Assert.Equal(engine.StateHash(), restored.StateHash());
            Assert.Equal(bytes, Encode(restored.CaptureImage()));
            Assert.Equal(engine.LastSequence, restored.LastSequence);
            Assert.Equal(engine.LastEventSequence, restored.LastEventSequence);
            Assert.Equal(engine.InsuranceFund, restored.InsuranceFund);
            Assert.Equal(engine.HousePnl, restored.HousePnl);
            Assert.Equal(engine.TotalDeposits, restored.TotalDeposits);
            Assert.Equal(engine.AllOpenTrades().OrderBy(t => t.Id), restored.AllOpenTrades().OrderBy(t => t.Id));
            for (var a = 0; a < 3; a++)
            {
                Assert.Equal(engine.Bid(new AssetId(a)), restored.Bid(new AssetId(a)));
                Assert.Equal(engine.Ask(new AssetId(a)), restored.Ask(new AssetId(a)));
            }
            for (var u = 0; u < WorkloadGenerator.Users; u++)
                Assert.Equal(engine.BalanceOf(Workload.UserOf(u)), restored.BalanceOf(Workload.UserOf(u)));
        }, iter: Iterations, print: Print);

    [Fact]
    public void Restored_engine_continues_exactly_like_the_uninterrupted_one() =>
        WorkloadsWithCut.Sample((ops, cutPerMille) =>
        {
            var inputs = Workload.Build(ops).Inputs;
            var cut = CutIndex(inputs, cutPerMille);
            var uninterrupted = new TradingEngine(WorkloadRunner.Config);
            var expected = WorkloadRunner.Run(uninterrupted, inputs);

            var first = new TradingEngine(WorkloadRunner.Config);
            WorkloadRunner.Run(first, inputs, 0, cut);
            var restored = RestoreFrom(Encode(first.CaptureImage()));
            var actual = WorkloadRunner.Run(restored, inputs, cut);

            Assert.Equal(expected.Skip(cut), actual);
            Assert.Equal(uninterrupted.StateHash(), restored.StateHash());
        }, iter: Iterations, print: Print);

    /// <summary>
    /// Recovery replays the log from before the snapshot's position: inputs already in the
    /// snapshot must be ignored (no reply, no event, no change) and the rest applied as live.
    /// </summary>
    [Fact]
    public void Replay_overlapping_the_snapshot_ignores_inputs_already_applied() =>
        WorkloadsWithCut.Sample((ops, cutPerMille) =>
        {
            var inputs = Workload.Build(ops).Inputs;
            var cut = CutIndex(inputs, cutPerMille);
            var uninterrupted = new TradingEngine(WorkloadRunner.Config);
            var expected = WorkloadRunner.Run(uninterrupted, inputs);

            var first = new TradingEngine(WorkloadRunner.Config);
            WorkloadRunner.Run(first, inputs, 0, cut);
            var restored = RestoreFrom(Encode(first.CaptureImage()));
            var hashAtSnapshot = restored.StateHash();

            // Queries are answered, not logged, so a log replay holds only state-changing inputs.
            var sink = new TranscriptSink();
            foreach (var input in inputs.Take(cut).Where(i => !i.IsQuery))
            {
                Assert.False(restored.Apply(in input, sink));
                Assert.Empty(sink.Lines);
            }
            Assert.Equal(hashAtSnapshot, restored.StateHash());

            Assert.Equal(expected.Skip(cut), WorkloadRunner.Run(restored, inputs, cut));
            Assert.Equal(uninterrupted.StateHash(), restored.StateHash());
        }, iter: Iterations, print: Print);

    /// <summary>The engine restores from the reference model's state too: the image is the whole state, whoever built it.</summary>
    [Fact]
    public void Engine_restored_from_the_reference_models_state_continues_like_the_reference() =>
        WorkloadsWithCut.Sample((ops, cutPerMille) =>
        {
            var inputs = Workload.Build(ops).Inputs;
            var cut = CutIndex(inputs, cutPerMille);
            var reference = new ReferenceEngine(WorkloadRunner.Config);
            var sink = new TranscriptSink();
            for (var i = 0; i < cut; i++) reference.Apply(inputs[i], sink);

            var engine = RestoreFrom(Encode(reference.CaptureImage()));
            Assert.Equal(StateCodec.Hash(reference.CaptureImage()), engine.StateHash());
            var referenceSink = new TranscriptSink();
            var engineSink = new TranscriptSink();
            for (var i = cut; i < inputs.Count; i++)
            {
                var input = inputs[i];
                var expected = referenceSink.Take(reference.Apply(in input, referenceSink));
                var actual = engineSink.Take(engine.Apply(in input, engineSink));
                if (expected != actual) WorkloadRunner.Fail(inputs, i, $"reference:\n{expected}\nengine:\n{actual}");
            }
            WorkloadRunner.AssertSameState(engine, reference);
        }, iter: Iterations / 2, print: Print);

    [Fact]
    public void Changing_any_balance_changes_the_state_hash() =>
        WorkloadsWithCut.Sample((ops, cutPerMille) =>
        {
            var inputs = Workload.Build(ops).Inputs;
            var engine = new TradingEngine(WorkloadRunner.Config);
            WorkloadRunner.Run(engine, inputs, 0, CutIndex(inputs, cutPerMille));
            var image = engine.CaptureImage();
            var original = StateCodec.Hash(image);

            var variants = new List<(string What, StateImage Image)>
            {
                ("insurance fund", Copy(image, insurance: new Usd(image.InsuranceFund.Cents + 1))),
                ("house PnL", Copy(image, house: new Usd(image.HousePnl.Cents - 1))),
                ("deposits", Copy(image, deposits: new Usd(image.TotalDeposits.Cents + 1))),
            };
            for (var i = 0; i < image.Accounts.Length; i++)
            {
                var a = image.Accounts[i];
                variants.Add(($"free of {a.User}", Copy(image, account: (i, a with { Free = new Usd(a.Free.Cents + 1) }))));
                variants.Add(($"locked of {a.User}", Copy(image, account: (i, a with { Locked = new Usd(a.Locked.Cents - 1) }))));
                // The same cent moved from free to locked is a different state too.
                variants.Add(($"free→locked of {a.User}",
                    Copy(image, account: (i, a with { Free = new Usd(a.Free.Cents - 1), Locked = new Usd(a.Locked.Cents + 1) }))));
            }
            for (var slot = 0; slot < image.TradeSlotCount; slot++)
            {
                var t = image.TradeSlots[slot];
                if (t.OpenSequence == 0) continue;
                variants.Add(($"margin of {t.Id}", Copy(image, trade: (slot, t with { Margin = new Usd(t.Margin.Cents + 1) }))));
                variants.Add(($"quantity of {t.Id}", Copy(image, trade: (slot, t with { Quantity = new Quantity(t.Quantity.Raw + 1) }))));
            }

            var seen = new Dictionary<string, string> { [original] = "original" };
            foreach (var (what, variant) in variants)
            {
                var hash = StateCodec.Hash(variant);
                if (!seen.TryAdd(hash, what)) Assert.Fail($"changing the {what} gives the same hash as {seen[hash]}");
            }
        }, iter: Iterations / 2, print: Print);

    [Fact]
    public void State_hash_does_not_depend_on_the_order_accounts_and_trades_are_held() =>
        Gen.Select(WorkloadsWithCut, Gen.Int).Sample((t, shuffleSeed) =>
        {
            var inputs = Workload.Build(t.Ops).Inputs;
            var engine = new TradingEngine(WorkloadRunner.Config);
            WorkloadRunner.Run(engine, inputs, 0, CutIndex(inputs, t.CutPerMille));
            var image = engine.CaptureImage();

            var random = new Random(shuffleSeed);
            var accounts = (AccountImage[])image.Accounts.Clone();
            var trades = image.TradeSlots.Take(image.TradeSlotCount).ToArray();
            random.Shuffle(accounts);
            random.Shuffle(trades);
            var shuffled = new StateImage
            {
                LastSequence = image.LastSequence, EventSequence = image.EventSequence, InsuranceFund = image.InsuranceFund,
                HousePnl = image.HousePnl, TotalDeposits = image.TotalDeposits, IgnoredTicks = image.IgnoredTicks,
                Markets = image.Markets, Accounts = accounts, TradeSlots = trades, TradeSlotCount = trades.Length,
            };
            Assert.Equal(StateCodec.Hash(image), StateCodec.Hash(shuffled));
            Assert.Equal(engine.StateHash(), TradingEngine.Restore(WorkloadRunner.Config, shuffled).StateHash());
        }, iter: Iterations / 2, print: t => Print(t.Item1));

    private static StateImage Copy(StateImage image, Usd? insurance = null, Usd? house = null, Usd? deposits = null,
        (int Index, AccountImage Value)? account = null, (int Index, TradeView Value)? trade = null)
    {
        var accounts = (AccountImage[])image.Accounts.Clone();
        if (account is { } a) accounts[a.Index] = a.Value;
        var trades = (TradeView[])image.TradeSlots.Clone();
        if (trade is { } t) trades[t.Index] = t.Value;
        return new StateImage
        {
            LastSequence = image.LastSequence, EventSequence = image.EventSequence,
            InsuranceFund = insurance ?? image.InsuranceFund, HousePnl = house ?? image.HousePnl,
            TotalDeposits = deposits ?? image.TotalDeposits, IgnoredTicks = image.IgnoredTicks,
            Markets = image.Markets, Accounts = accounts, TradeSlots = trades, TradeSlotCount = image.TradeSlotCount,
        };
    }

    [Fact]
    public void A_saved_state_is_refused_by_an_asset_list_in_another_order_and_taken_by_one_grown_at_the_end()
    {
        var h = new EngineHarness();
        h.CreateAccount(User(1));
        h.Tick(Eth, 3_499m, 3_500m);
        h.Open(User(1), "ETH_USDC", Direction.Long, 100m, 10);
        var saved = Encode(h.Engine.CaptureImage());
        StateImage Saved() => StateCodec.Read(new MemoryStream(saved));
        var assets = EngineConfig.DefaultAssets;

        var reordered = new EngineConfig { Assets = [assets[1], assets[0], assets[2]] };
        var refused = Assert.Throws<InvalidDataException>(() => TradingEngine.Restore(reordered, Saved()));
        Assert.Contains("BTC_USDC as asset 1", refused.Message);

        var grown = new EngineConfig { Assets = [.. assets, new AssetSpec("DOGE_USDC")] };
        var restored = TradingEngine.Restore(grown, Saved());
        Assert.Equal("ETH_USDC", grown.Assets[Assert.Single(restored.AllOpenTrades()).Asset.Index].Symbol);
    }
}
