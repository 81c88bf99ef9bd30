using Exchange.Engine;
using Exchange.Journal;

namespace Exchange.Server.Tests;

/// <summary><c>Exchange.Server data list|verify</c> on folders an engine host really wrote.</summary>
public sealed class DataFolderToolTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("exchange-data-tool-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Verify_recovers_the_folder_and_prints_the_state_it_would_start_with()
    {
        var hash = await RunEngineAsync(accounts: 3);

        var (code, output) = Tool("verify");

        Assert.Equal(0, code);
        Assert.Contains("state: sequence 3, 3 accounts, 0 open trades", output);
        Assert.Contains($"state hash: {hash}", output);
        Assert.DoesNotContain("recorder overflow", output);
    }

    [Fact]
    public async Task List_shows_each_snapshot_and_fails_on_a_corrupt_one()
    {
        await RunEngineAsync(accounts: 2);
        var (code, output) = Tool("list");
        Assert.Equal(0, code);
        Assert.Contains(" ok", output);

        var snapshot = Directory.GetFiles(Path.Combine(_dir, "snapshots"), "*.snap").Single();
        var bytes = File.ReadAllBytes(snapshot);
        bytes[^10] ^= 0xFF;
        File.WriteAllBytes(snapshot, bytes);
        (code, output) = Tool("list");
        Assert.Equal(1, code);
        Assert.Contains("CORRUPT", output);
    }

    [Fact]
    public async Task List_leaves_a_snapshot_being_written_alone()
    {
        await RunEngineAsync(accounts: 1);
        // What a running engine's snapshot looks like half-way: the tool must not clean it up under it.
        var writing = Path.Combine(_dir, "snapshots", $"snapshot-{99:D20}.snap.tmp");
        File.WriteAllBytes(writing, [1, 2, 3]);

        Assert.Equal(0, Tool("list").Code);
        Assert.True(File.Exists(writing));
    }

    [Fact]
    public async Task Verify_says_how_many_records_wait_in_the_recorders_overflow_file()
    {
        await RunEngineAsync(accounts: 1);
        using (var overflow = FileJournal.Open(Path.Combine(_dir, ServerSetup.RecorderOverflowFolder)))
        {
            overflow.Append(1, [1, 5]);
            overflow.Append(2, [1, 5]);
            overflow.Commit();
        }

        var (code, output) = Tool("verify");

        Assert.Equal(0, code);
        Assert.Contains("recorder overflow: 2 records waiting", output);
    }

    [Theory]
    [InlineData("verify")]
    [InlineData("list")]
    public void A_folder_without_exchange_data_is_reported_and_left_alone(string command)
    {
        var typo = Path.Combine(_dir, "no-such-backup");

        using var output = new StringWriter();
        var code = DataFolderTool.Run([command, "--data", typo], output);

        Assert.Equal(1, code);
        Assert.Contains("no exchange data in", output.ToString());
        Assert.False(Directory.Exists(typo));
    }

    [Fact]
    public async Task Verify_refuses_to_run_beside_a_live_engine()
    {
        await RunEngineAsync(accounts: 1);
        using var live = EngineHost.Start(new EngineHostOptions { DataDirectory = _dir });

        var (code, output) = Tool("verify");

        Assert.Equal(1, code);
        Assert.Contains("cannot recover", output);
        Assert.Contains("is in use by another process (its journal.lock is held)", output);
    }

    [Fact]
    public async Task Cut_tail_has_nothing_to_cut_in_a_folder_that_opens()
    {
        await RunEngineAsync(accounts: 2);
        var files = Directory.GetFiles(Path.Combine(_dir, "journal"));

        var (code, output) = Tool("cut-tail");

        Assert.Equal(0, code);
        Assert.Contains("opens as it is: nothing to cut", output);
        Assert.Equal(files, Directory.GetFiles(Path.Combine(_dir, "journal")));
    }

    [Fact]
    public async Task Cut_tail_refuses_damage_that_a_snapshot_shows_was_acknowledged()
    {
        await RunEngineAsync(accounts: 3); // snapshot at sequence 3
        var bytes = DamageSecondRecord();

        CutRefusedAsAcknowledged(bytes, "sequence 3 is in a snapshot or the recorder's hands, past the last record before the damage (1)");
    }

    [Fact]
    public async Task Cut_tail_counts_a_snapshot_that_was_being_written_as_proof_of_acknowledgement()
    {
        await RunEngineAsync(accounts: 3, snapshot: false);
        var bytes = DamageSecondRecord();
        // Begun only once the journal held sequence 3; a power cut left it unfinished.
        File.WriteAllBytes(Path.Combine(_dir, "snapshots", $"snapshot-{3:D20}.snap.tmp"), [1, 2, 3]);

        CutRefusedAsAcknowledged(bytes, "sequence 3 is in a snapshot or the recorder's hands");
    }

    [Fact]
    public async Task Cut_tail_refuses_damage_the_recorders_overflow_file_shows_was_acknowledged()
    {
        await RunEngineAsync(accounts: 3, snapshot: false);
        var bytes = DamageSecondRecord();
        using (var overflow = FileJournal.Open(Path.Combine(_dir, ServerSetup.RecorderOverflowFolder)))
        {
            // An order row of input 3, version 1: kind 5, order and user ids, no latency, sequence 3 (the rest is not read).
            var item = new byte[2 + 56];
            item[0] = 1;
            item[1] = 5;
            BitConverter.TryWriteBytes(item.AsSpan(2 + 32), long.MinValue);
            BitConverter.TryWriteBytes(item.AsSpan(2 + 40), 3L);
            overflow.Append(1, item);
            overflow.Commit();
        }

        CutRefusedAsAcknowledged(bytes, "sequence 3 is in a snapshot or the recorder's hands");
    }

    [Fact]
    public async Task Cut_tail_says_what_it_would_cut_and_cuts_only_with_yes()
    {
        await RunEngineAsync(accounts: 3, snapshot: false);
        var bytes = DamageSecondRecord();

        var (code, output) = Tool("cut-tail");

        Assert.Equal(0, code);
        Assert.Contains("would cut", output);
        Assert.Contains("the bad record and 1 whole record(s), sequences 3–3, after it", output);
        Assert.Contains("nothing was changed", output);
        Assert.Equal(bytes, File.ReadAllBytes(Segment()));

        (code, output) = Tool("cut-tail", "--yes");

        Assert.Equal(0, code);
        Assert.Contains("the journal now ends at sequence 1", output);
        var (verified, state) = Tool("verify");
        Assert.Equal(0, verified);
        Assert.Contains("state: sequence 1, 1 accounts", state);
    }

    /// <summary>cut-tail --yes refuses, saying why, and leaves the segment as it was.</summary>
    private void CutRefusedAsAcknowledged(byte[] segmentBefore, string why)
    {
        var (code, output) = Tool("cut-tail", "--yes");

        Assert.Equal(1, code);
        Assert.Contains(why, output);
        Assert.Equal(segmentBefore, File.ReadAllBytes(Segment()));
        Assert.Empty(Directory.GetFiles(Path.Combine(_dir, "journal"), "cut-*"));
    }

    private string Segment() => Directory.GetFiles(Path.Combine(_dir, "journal"), "*.seg").Single();

    /// <summary>Record 2's checksum no longer matches; record 3 after it is whole. Returns the segment's bytes.</summary>
    private byte[] DamageSecondRecord()
    {
        var bytes = File.ReadAllBytes(Segment());
        var second = 16 + BitConverter.ToInt32(bytes, 0);
        bytes[second + 20] ^= 0xFF;
        File.WriteAllBytes(Segment(), bytes);
        return bytes;
    }

    /// <summary>
    /// Creates accounts through a real engine host, which snapshots on the way out (unless told
    /// not to: as if killed); returns the state hash of the snapshot, if any.
    /// </summary>
    private async Task<string?> RunEngineAsync(int accounts, bool snapshot = true)
    {
        var host = EngineHost.Start(new EngineHostOptions { DataDirectory = _dir });
        try
        {
            for (var i = 0; i < accounts; i++)
            {
                var reply = await host.SubmitAsync(new EngineInput { Kind = InputKind.CreateAccount, User = new UserId(Guid.NewGuid()), OrderId = Guid.NewGuid() });
                Assert.True(reply.Accepted);
            }
            return snapshot ? (await host.SnapshotNowAsync())!.Header.StateHash : null;
        }
        finally
        {
            if (snapshot) host.Dispose();
            else host.DisposeWithoutSnapshot();
        }
    }

    private (int Code, string Output) Tool(string command, params string[] more)
    {
        using var output = new StringWriter();
        var code = DataFolderTool.Run([command, .. more, "--data", _dir], output);
        return (code, output.ToString());
    }
}
