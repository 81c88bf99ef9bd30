using System.Buffers.Binary;
using System.Collections.Concurrent;
using static Exchange.Journal.Tests.TempJournalDirectory;

namespace Exchange.Journal.Tests;

public class GroupCommitTests
{
    [Fact]
    public void Appends_become_durable_and_readable_only_when_the_producer_commits()
    {
        using var dir = new TempJournalDirectory();
        using var journal = FileJournal.Open(dir.Path);
        for (var s = 1; s <= 10; s++) journal.Append(s, PayloadFor(s));
        Assert.Equal(10, journal.LastSequence);
        Assert.Equal(0, journal.DurableSequence);
        Assert.Empty(journal.ReadAfter(0));

        Assert.Equal(10, journal.Commit());
        Assert.Equal(10, journal.DurableSequence);
        Assert.Equal(1, journal.Stats.Fsyncs);
        AssertRecords(journal, 1, 10);
        Assert.Equal(10, journal.Commit()); // nothing new: no write, no fsync
        Assert.Equal(1, journal.Stats.Fsyncs);
    }

    [Fact]
    public async Task A_commit_is_one_batch_and_announces_only_records_already_in_the_file()
    {
        using var dir = new TempJournalDirectory();
        using var journal = FileJournal.Open(dir.Path);
        var violations = new ConcurrentQueue<string>();
        using var done = new CancellationTokenSource();
        // Another thread keeps checking that whatever DurableSequence says is in the file, whole.
        var observer = Task.Run(() =>
        {
            while (!done.IsCancellationRequested)
            {
                var durable = journal.DurableSequence;
                if (durable == 0) continue;
                var onDisk = LastSequenceInFile(dir.SegmentFiles()[^1]);
                if (onDisk < durable) violations.Enqueue($"durable {durable}, file ends at {onDisk}");
            }
        });

        var commits = 0;
        for (var s = 1; s <= 3000; s++)
        {
            journal.Append(s, PayloadFor(s));
            if (s % 60 != 0) continue;
            Assert.Equal(s, journal.Commit());
            commits++;
            Assert.Equal(commits, journal.Stats.Fsyncs);
            Assert.Equal(s, LastSequenceInFile(dir.SegmentFiles()[^1]));
        }
        await done.CancelAsync();
        await observer.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Empty(violations);
        var stats = journal.Stats;
        Assert.Equal((50, 3000L, 50L), (stats.Batches, stats.Records, stats.Fsyncs));
    }

    [Fact]
    public async Task Flush_on_another_thread_waits_for_the_producers_commit()
    {
        using var dir = new TempJournalDirectory();
        using var journal = FileJournal.Open(dir.Path);
        journal.Append(1, PayloadFor(1));
        var flushed = Task.Run(journal.Flush);
        await Task.Delay(50);
        Assert.False(flushed.IsCompleted);
        journal.Commit();
        await flushed.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1, journal.DurableSequence);
    }

    [Fact]
    public void A_full_pending_buffer_commits_before_the_next_append_without_waiting()
    {
        using var dir = new TempJournalDirectory();
        var journal = FileJournal.Open(dir.Path, NoFsync() with { MaxPendingBytes = 4 << 10 });
        for (var s = 1; s <= 1000; s++) journal.Append(s, PayloadFor(s));
        Assert.InRange(journal.DurableSequence, 900, 999); // committed whenever 4 KB were pending
        journal.Dispose();
        using var reopened = FileJournal.Open(dir.Path, NoFsync());
        AssertRecords(reopened, 1, 1000);
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

    [Fact]
    public void Readers_beside_a_busy_producer_see_every_durable_record_once_and_in_order()
    {
        const int count = 200_000;
        using var dir = new TempJournalDirectory();
        var options = new JournalOptions { SegmentSize = 1 << 20, MaxPendingBytes = 64 << 10 };
        var problems = new ConcurrentQueue<string>();
        using (var journal = FileJournal.Open(dir.Path, options))
        {
            var producer = new Thread(() =>
            {
                Span<byte> payload = stackalloc byte[80];
                for (long s = 1; s <= count; s++)
                {
                    BinaryPrimitives.WriteInt64LittleEndian(payload, s);
                    payload[8..].Fill((byte)s);
                    journal.Append(s, payload);
                    if (s % 1000 == 0) journal.Commit();
                }
                journal.Commit();
            });
            producer.Start();
            // Reads run while commits write and roll segments (no segment is deleted meanwhile).
            while (producer.IsAlive)
            {
                var expected = 1L;
                var limit = journal.DurableSequence;
                foreach (var record in journal.ReadAfter(0))
                {
                    if (record.Sequence != expected || BinaryPrimitives.ReadInt64LittleEndian(record.Payload.Span) != expected)
                        problems.Enqueue($"read {record.Sequence} where {expected} was due");
                    expected++;
                }
                if (expected - 1 < limit) problems.Enqueue($"read up to {expected - 1} of durable {limit}");
            }
            producer.Join();
            Assert.Equal(count, journal.DurableSequence);
        }

        Assert.Empty(problems);
        using var reopened = FileJournal.Open(dir.Path, options);
        var next = 1L;
        foreach (var record in reopened.ReadAfter(0))
        {
            Assert.Equal(next, record.Sequence);
            Assert.Equal((byte)next, record.Payload.Span[^1]);
            next++;
        }
        Assert.Equal(count + 1, next);
        Assert.True(dir.SegmentFiles().Length > 10);
    }

    /// <summary>The last whole record's sequence in a segment file that a commit may be writing right now.</summary>
    private static long LastSequenceInFile(string path)
    {
        byte[] bytes;
        using (var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        {
            bytes = new byte[file.Length];
            file.ReadExactly(bytes);
        }
        return RecordsIn(bytes).LastOrDefault().Sequence;
    }
}
