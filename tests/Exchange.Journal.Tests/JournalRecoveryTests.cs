using static Exchange.Journal.Tests.TempJournalDirectory;

namespace Exchange.Journal.Tests;

public class JournalRecoveryTests
{
    private const int Records = 5;

    [Fact]
    public void Opening_writes_the_last_segments_records_to_disk_again()
    {
        // After a failed fsync the records can sit in the page cache marked clean: a restart reads
        // them back and must write them again, or they never reach the disk.
        using var dir = new TempJournalDirectory();
        dir.Write(1, 500, JournalOptions.Default);
        FileJournal.Open(dir.Path, NoFsync()).Dispose(); // cuts the zeros filled ahead; nothing else to change
        var segment = dir.SegmentFiles()[^1];
        var content = File.ReadAllBytes(segment);
        var written = File.GetLastWriteTimeUtc(segment);
        Thread.Sleep(50);

        using (var reopened = FileJournal.Open(dir.Path, JournalOptions.Default)) Assert.Equal(500, reopened.LastSequence);

        Assert.True(File.GetLastWriteTimeUtc(segment) > written, "the segment was not written again");
        Assert.Equal(content, File.ReadAllBytes(segment));
    }

    [Fact]
    public void Torn_last_record_is_cut_at_every_byte_offset()
    {
        using var source = new TempJournalDirectory();
        source.Write(1, Records, NoFsync());
        var bytes = File.ReadAllBytes(Assert.Single(source.SegmentFiles()));
        var lastStart = bytes.Length - (16 + PayloadFor(Records).Length);

        for (var cut = lastStart; cut < bytes.Length; cut++)
        {
            using var dir = new TempJournalDirectory();
            var file = Path.Combine(dir.Path, Path.GetFileName(source.SegmentFiles()[0]));
            File.WriteAllBytes(file, bytes[..cut]);
            using (var journal = FileJournal.Open(dir.Path, NoFsync()))
            {
                Assert.Equal(Records - 1, journal.LastSequence);
                Assert.Equal(Records - 1, journal.Recovery.Records);
                Assert.Equal(cut - lastStart, journal.Recovery.TruncatedBytes);
                Assert.Equal(cut > lastStart, journal.Recovery.WasTruncated);
                Assert.Equal(lastStart, new FileInfo(file).Length);
                AssertRecords(journal, 1, Records - 1);
                journal.Append(Records, PayloadFor(Records));
                journal.Append(Records + 1, PayloadFor(Records + 1));
            }
            using var reopened = FileJournal.Open(dir.Path, NoFsync());
            Assert.False(reopened.Recovery.WasTruncated);
            AssertRecords(reopened, 1, Records + 1);
        }
    }

    [Fact]
    public void Flipped_byte_anywhere_in_the_tail_record_is_cut()
    {
        using var source = new TempJournalDirectory();
        source.Write(1, Records, NoFsync());
        var bytes = File.ReadAllBytes(source.SegmentFiles()[0]);
        var lastStart = bytes.Length - (16 + PayloadFor(Records).Length);

        for (var at = lastStart; at < bytes.Length; at++)
        {
            using var dir = CopyWith(source, bytes, b => b[at] ^= 0x5A);
            using var journal = FileJournal.Open(dir.Path, NoFsync());
            Assert.Equal(Records - 1, journal.LastSequence);
            Assert.Equal(bytes.Length - lastStart, journal.Recovery.TruncatedBytes);
            AssertRecords(journal, 1, Records - 1);
        }
    }

    [Fact]
    public void Flipped_byte_anywhere_in_a_middle_record_refuses_to_open()
    {
        using var source = new TempJournalDirectory();
        source.Write(1, Records, NoFsync());
        var bytes = File.ReadAllBytes(source.SegmentFiles()[0]);
        var secondStart = 16 + PayloadFor(1).Length;
        var secondEnd = secondStart + 16 + PayloadFor(2).Length;

        for (var at = secondStart; at < secondEnd; at++)
        {
            using var dir = CopyWith(source, bytes, b => b[at] ^= 0x01);
            var error = Assert.Throws<JournalCorruptException>(() => FileJournal.Open(dir.Path, NoFsync()));
            Assert.Equal(secondStart, error.Offset);
            // Nothing was cut: the evidence stays for an operator to look at.
            Assert.Equal(bytes.Length, new FileInfo(dir.SegmentFiles()[0]).Length);
        }
    }

    [Fact]
    public void Damage_in_an_earlier_segment_refuses_to_open_even_at_its_end()
    {
        using var dir = new TempJournalDirectory();
        dir.Write(1, 100, NoFsync(512));
        var first = dir.SegmentFiles()[0];
        var length = new FileInfo(first).Length;
        using (var stream = File.OpenWrite(first)) stream.SetLength(length - 1);
        var error = Assert.Throws<JournalCorruptException>(() => FileJournal.Open(dir.Path, NoFsync(512)));
        Assert.Equal(first, error.SegmentPath);
    }

    [Fact]
    public void Torn_only_record_of_the_last_segment_removes_that_segment()
    {
        using var dir = new TempJournalDirectory();
        dir.Write(1, 100, NoFsync(512));
        var last = dir.SegmentFiles()[^1];
        var firstOfLast = long.Parse(Path.GetFileNameWithoutExtension(last));
        File.WriteAllBytes(last, File.ReadAllBytes(last)[..10]);
        var segmentsBefore = dir.SegmentFiles().Length;

        using (var journal = FileJournal.Open(dir.Path, NoFsync(512)))
        {
            Assert.Equal(firstOfLast - 1, journal.LastSequence);
            Assert.Equal(segmentsBefore - 1, dir.SegmentFiles().Length);
            journal.Append(firstOfLast, PayloadFor(firstOfLast));
        }
        using var reopened = FileJournal.Open(dir.Path, NoFsync(512));
        AssertRecords(reopened, 1, firstOfLast);
    }

    [Fact]
    public void Zero_filled_tail_is_cut_back_to_the_last_record_without_counting_as_torn()
    {
        using var dir = new TempJournalDirectory();
        dir.Write(1, Records, NoFsync());
        var file = dir.SegmentFiles()[0];
        var length = new FileInfo(file).Length;
        using (var stream = new FileStream(file, FileMode.Append)) stream.Write(new byte[8192 + 7]);
        using (var journal = FileJournal.Open(dir.Path, NoFsync()))
        {
            Assert.False(journal.Recovery.WasTruncated);
            Assert.Equal(length, new FileInfo(file).Length);
            AssertRecords(journal, 1, Records);
            journal.Append(Records + 1, PayloadFor(Records + 1));
        }
        using var reopened = FileJournal.Open(dir.Path, NoFsync());
        AssertRecords(reopened, 1, Records + 1);
    }

    [Fact]
    public void Zeros_then_other_bytes_at_the_end_are_a_torn_tail()
    {
        using var dir = new TempJournalDirectory();
        dir.Write(1, Records, NoFsync());
        var file = dir.SegmentFiles()[0];
        var length = new FileInfo(file).Length;
        var tail = new byte[4096];
        tail[3000] = 0x5a;
        using (var stream = new FileStream(file, FileMode.Append)) stream.Write(tail);
        using var journal = FileJournal.Open(dir.Path, NoFsync());
        Assert.Equal(tail.Length, journal.Recovery.TruncatedBytes);
        Assert.Equal(length, new FileInfo(file).Length);
        AssertRecords(journal, 1, Records);
    }

    [Fact]
    public void Zeros_followed_by_a_valid_record_refuse_to_open()
    {
        using var dir = new TempJournalDirectory();
        dir.Write(1, Records, NoFsync());
        var file = dir.SegmentFiles()[0];
        var later = new byte[16 + PayloadFor(Records + 1).Length];
        RecordFormat.WriteHeader(later, PayloadFor(Records + 1).Length, Records + 1);
        PayloadFor(Records + 1).CopyTo(later.AsSpan(16));
        RecordFormat.Seal(later);
        using (var stream = new FileStream(file, FileMode.Append))
        {
            stream.Write(new byte[64]);
            stream.Write(later);
        }
        Assert.Throws<JournalCorruptException>(() => FileJournal.Open(dir.Path, NoFsync()));
    }

    [Fact]
    public void With_fsync_a_commit_fills_ahead_with_zeros_and_reopening_appends_after_the_last_record()
    {
        using var dir = new TempJournalDirectory();
        var options = new JournalOptions { SegmentSize = 64 << 10 };
        dir.Write(1, 3000, options);
        var files = dir.SegmentFiles();
        Assert.True(files.Length > 1, "expected the small segments to roll");
        // Closed segments keep their unused zeros; the last one too, until the journal opens again.
        Assert.All(files, f => Assert.Equal(64 << 10, new FileInfo(f).Length));
        using (var journal = FileJournal.Open(dir.Path, options))
        {
            Assert.False(journal.Recovery.WasTruncated);
            Assert.Equal(3000, journal.Recovery.Records);
            AssertRecords(journal, 1, 3000);
            for (var s = 3001; s <= 3500; s++) journal.Append(s, PayloadFor(s));
            journal.Commit();
            AssertRecords(journal, 1, 3500);
        }
        using var reopened = FileJournal.Open(dir.Path, options);
        AssertRecords(reopened, 1, 3500);
    }

    [Fact]
    public void When_the_last_segment_holds_only_zeros_the_one_before_continues_right_after_its_last_record()
    {
        using var dir = new TempJournalDirectory();
        var options = new JournalOptions { SegmentSize = 64 << 10 };
        dir.Write(1, 3000, options);
        var files = dir.SegmentFiles();
        // A crash after rolling, before the new segment's first record reached the disk.
        File.WriteAllBytes(files[^1], new byte[64 << 10]);
        long lastKept;
        using (var journal = FileJournal.Open(dir.Path, options))
        {
            Assert.Equal(files.Length - 1, dir.SegmentFiles().Length);
            lastKept = journal.LastSequence;
            Assert.True(new FileInfo(files[^2]).Length < 64 << 10, "the unused zeros of the segment before should be cut");
            for (var s = lastKept + 1; s <= lastKept + 200; s++) journal.Append(s, PayloadFor(s));
            journal.Commit();
        }
        using var reopened = FileJournal.Open(dir.Path, options);
        AssertRecords(reopened, 1, lastKept + 200);
    }

    [Fact]
    public void Whole_record_with_a_sequence_that_goes_back_refuses_to_open()
    {
        using var dir = new TempJournalDirectory();
        dir.Write(1, Records, NoFsync());
        var file = dir.SegmentFiles()[0];
        var stale = new byte[16 + 3];
        RecordFormat.WriteHeader(stale, 3, 2);
        RecordFormat.Seal(stale);
        using (var stream = new FileStream(file, FileMode.Append)) stream.Write(stale);
        Assert.Throws<JournalCorruptException>(() => FileJournal.Open(dir.Path, NoFsync()));
    }

    [Fact]
    public void Segment_whose_first_record_disagrees_with_its_name_refuses_to_open()
    {
        using var dir = new TempJournalDirectory();
        dir.Write(1, Records, NoFsync());
        var file = dir.SegmentFiles()[0];
        File.Move(file, Path.Combine(dir.Path, "00000000000000000002.seg"));
        Assert.Throws<JournalCorruptException>(() => FileJournal.Open(dir.Path, NoFsync()));
    }

    /// <summary>
    /// A copy of the files taken while the producer commits is what a crash leaves (without the
    /// page-cache loss): it must open to a clean prefix of what was appended.
    /// </summary>
    [Fact]
    public void Copy_taken_mid_write_opens_to_a_clean_prefix()
    {
        const int count = 300_000;
        using var dir = new TempJournalDirectory();
        using var journal = FileJournal.Open(dir.Path, NoFsync());
        Exception? producerError = null;
        var producer = new Thread(() =>
        {
            try
            {
                for (var s = 1; s <= count; s++)
                {
                    journal.Append(s, PayloadFor(s));
                    if (s % 100 == 0) journal.Commit();
                }
            }
            catch (Exception e)
            {
                producerError = e;
            }
        });
        producer.Start();
        try
        {
            while (journal.DurableSequence == 0) Thread.Sleep(1);
            for (var copy = 0; copy < 10 && producer.IsAlive; copy++)
            {
                var durable = journal.DurableSequence;
                using var crashed = new TempJournalDirectory();
                var source = dir.SegmentFiles()[0];
                File.Copy(source, Path.Combine(crashed.Path, Path.GetFileName(source)));
                using var recovered = FileJournal.Open(crashed.Path, NoFsync());
                Assert.InRange(recovered.LastSequence, durable, count);
                var expected = 1L;
                foreach (var record in recovered.ReadAfter(0))
                {
                    Assert.Equal(expected, record.Sequence);
                    Assert.Equal(PayloadFor(expected), record.Payload.ToArray());
                    expected++;
                }
                Assert.Equal(recovered.LastSequence, expected - 1);
                Thread.Sleep(5);
            }
        }
        finally
        {
            producer.Join();
        }
        Assert.Null(producerError);
    }

    private static TempJournalDirectory CopyWith(TempJournalDirectory source, byte[] bytes, Action<byte[]> damage)
    {
        var dir = new TempJournalDirectory();
        var copy = (byte[])bytes.Clone();
        damage(copy);
        File.WriteAllBytes(Path.Combine(dir.Path, Path.GetFileName(source.SegmentFiles()[0])), copy);
        return dir;
    }
}
