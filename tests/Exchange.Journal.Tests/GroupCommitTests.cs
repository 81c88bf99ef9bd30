using System.Buffers.Binary;
using System.Collections.Concurrent;
using static Exchange.Journal.Tests.TempJournalDirectory;

namespace Exchange.Journal.Tests;

public class GroupCommitTests
{
    [Fact]
    public void Durable_sequence_and_callback_advance_only_after_write_and_fsync()
    {
        using var dir = new TempJournalDirectory();
        var violations = new ConcurrentQueue<string>();
        var calls = 0;
        FileJournal? journal = null;
        var lastSeen = 0L;
        void OnDurable(long durable)
        {
            calls++;
            if (durable <= lastSeen) violations.Enqueue($"durable went from {lastSeen} to {durable}");
            lastSeen = durable;
            // Every batch was fsynced before it was announced.
            if (journal!.Stats.Fsyncs < calls) violations.Enqueue($"call {calls} with {journal.Stats.Fsyncs} fsyncs");
            if (journal.DurableSequence != durable) violations.Enqueue("DurableSequence not published before the callback");
            // And what it announces is already in the file, whole and checksummed.
            var bytes = File.ReadAllBytes(dir.SegmentFiles()[^1]);
            var lastOnDisk = 0L;
            for (var at = 0; at + 16 <= bytes.Length;)
            {
                if (!bytes.AsSpan(at, 16).ContainsAnyExcept((byte)0)) break; // the writer's zeros ahead of its records
                var length = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(at));
                lastOnDisk = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(at + 8));
                at += 16 + length;
            }
            if (lastOnDisk != durable) violations.Enqueue($"announced {durable}, file ends at {lastOnDisk}");
        }

        using (journal = FileJournal.Open(dir.Path, new JournalOptions(), OnDurable))
        {
            for (var s = 1; s <= 3000; s++)
            {
                journal.Append(s, PayloadFor(s));
                if (s % 500 == 0) Thread.Sleep(2);
            }
            journal.Flush();
            Assert.Equal(3000, journal.DurableSequence);
            var stats = journal.Stats;
            Assert.Equal(3000, stats.Records);
            Assert.Equal(stats.Batches, stats.Fsyncs);
            Assert.True(stats.Batches < 3000, $"group commit should batch, got {stats.Batches} batches");
        }
        Assert.Empty(violations);
        Assert.Equal(3000, lastSeen);
    }

    [Fact]
    public void Appends_are_not_durable_while_the_writer_is_busy()
    {
        using var dir = new TempJournalDirectory();
        using var release = new ManualResetEventSlim();
        using var firstBatchDone = new ManualResetEventSlim();
        void OnDurable(long durable)
        {
            firstBatchDone.Set();
            release.Wait();
        }

        using var journal = FileJournal.Open(dir.Path, NoFsync(), OnDurable);
        try
        {
            journal.Append(1, [1]);
            Assert.True(firstBatchDone.Wait(TimeSpan.FromSeconds(10)));
            for (var s = 2; s <= 50; s++) journal.Append(s, [(byte)s]);
            Assert.Equal(50, journal.LastSequence);
            Assert.Equal(1, journal.DurableSequence);
            Assert.Equal([1L], journal.ReadAfter(0).Select(r => r.Sequence));
        }
        finally
        {
            release.Set();
        }
        journal.Flush();
        Assert.Equal(50, journal.DurableSequence);
        Assert.Equal(50, journal.ReadAfter(0).Count());
    }

    [Fact]
    public void One_producer_under_load_loses_and_duplicates_nothing()
    {
        const int count = 200_000;
        using var dir = new TempJournalDirectory();
        var announced = new List<long>();
        var options = new JournalOptions { SegmentSize = 1 << 20, MaxPendingBytes = 64 << 10 };
        using (var journal = FileJournal.Open(dir.Path, options, announced.Add))
        {
            var producer = new Thread(() =>
            {
                Span<byte> payload = stackalloc byte[80];
                for (long s = 1; s <= count; s++)
                {
                    BinaryPrimitives.WriteInt64LittleEndian(payload, s);
                    payload[8..].Fill((byte)s);
                    journal.Append(s, payload);
                }
            });
            producer.Start();
            producer.Join();
            journal.Flush();
            Assert.Equal(count, journal.Stats.Records);
        }

        Assert.Equal(count, announced[^1]);
        Assert.True(announced.Zip(announced.Skip(1)).All(p => p.First < p.Second));
        using var reopened = FileJournal.Open(dir.Path, options);
        var expected = 1L;
        foreach (var record in reopened.ReadAfter(0))
        {
            Assert.Equal(expected, record.Sequence);
            Assert.Equal(expected, BinaryPrimitives.ReadInt64LittleEndian(record.Payload.Span));
            Assert.Equal((byte)expected, record.Payload.Span[^1]);
            expected++;
        }
        Assert.Equal(count + 1, expected);
        Assert.True(dir.SegmentFiles().Length > 10);
    }

    [Fact]
    public void Dispose_makes_everything_appended_durable()
    {
        using var dir = new TempJournalDirectory();
        var journal = FileJournal.Open(dir.Path);
        for (var s = 1; s <= 1000; s++) journal.Append(s, PayloadFor(s));
        journal.Dispose();
        Assert.Throws<ObjectDisposedException>(() => journal.Append(1001, [1]));
        using var reopened = FileJournal.Open(dir.Path, NoFsync());
        AssertRecords(reopened, 1, 1000);
    }

    private static JournalOptions ProducerCommits(bool fsync = true) => new() { FsyncEnabled = fsync, CommitOnProducerThread = true };

    [Fact]
    public void Without_a_writer_thread_appends_become_durable_only_when_the_producer_commits()
    {
        using var dir = new TempJournalDirectory();
        var announced = new List<long>();
        using (var journal = FileJournal.Open(dir.Path, ProducerCommits(), announced.Add))
        {
            for (var s = 1; s <= 10; s++) journal.Append(s, PayloadFor(s));
            Thread.Sleep(20);
            Assert.Equal(0, journal.DurableSequence);
            Assert.Empty(journal.ReadAfter(0));
            Assert.Empty(announced);

            Assert.Equal(10, journal.Commit());
            Assert.Equal(10, journal.DurableSequence);
            Assert.Equal([10L], announced);
            Assert.Equal(1, journal.Stats.Fsyncs);
            AssertRecords(journal, 1, 10);
            Assert.Equal(10, journal.Commit()); // nothing new: no write, no fsync
            Assert.Equal(1, journal.Stats.Fsyncs);
        }
    }

    [Fact]
    public async Task Without_a_writer_thread_Flush_elsewhere_waits_for_the_producers_commit()
    {
        using var dir = new TempJournalDirectory();
        using var journal = FileJournal.Open(dir.Path, ProducerCommits());
        journal.Append(1, PayloadFor(1));
        var flushed = Task.Run(journal.Flush);
        await Task.Delay(50);
        Assert.False(flushed.IsCompleted);
        journal.Commit();
        await flushed.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1, journal.DurableSequence);
    }

    [Fact]
    public void Without_a_writer_thread_a_full_pending_buffer_and_Dispose_commit_on_the_producer()
    {
        using var dir = new TempJournalDirectory();
        var options = ProducerCommits(fsync: false) with { MaxPendingBytes = 4 << 10 };
        var journal = FileJournal.Open(dir.Path, options);
        for (var s = 1; s <= 1000; s++) journal.Append(s, PayloadFor(s));
        Assert.InRange(journal.DurableSequence, 900, 999); // committed whenever 4 KB were pending, never waiting
        journal.Dispose();
        using var reopened = FileJournal.Open(dir.Path, NoFsync());
        AssertRecords(reopened, 1, 1000);
    }

    [Fact]
    public void Commit_is_refused_while_a_writer_thread_owns_the_journal()
    {
        using var dir = new TempJournalDirectory();
        using var journal = FileJournal.Open(dir.Path, NoFsync());
        Assert.Throws<InvalidOperationException>(() => journal.Commit());
    }
}
