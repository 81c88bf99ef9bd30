using System.IO.Hashing;
using System.Text;
using static Exchange.Journal.Tests.TempJournalDirectory;

namespace Exchange.Journal.Tests;

public class FileJournalTests
{
    [Fact]
    public void Crc32c_matches_the_published_check_value()
    {
        Assert.Equal(0xE3069283u, Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, Encoding.ASCII.GetBytes("123456789")));
    }

    [Fact]
    public void Record_layout_is_length_checksum_sequence_payload()
    {
        using var dir = new TempJournalDirectory();
        using (var journal = FileJournal.Open(dir.Path, NoFsync()))
            journal.Append(1, [0xAA, 0xBB]);
        var file = Assert.Single(dir.SegmentFiles());
        Assert.EndsWith("00000000000000000001.seg", file, StringComparison.Ordinal);
        var crc = Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, [1, 0, 0, 0, 0, 0, 0, 0, 0xAA, 0xBB]);
        byte[] expected = [2, 0, 0, 0, .. BitConverter.GetBytes(crc), 1, 0, 0, 0, 0, 0, 0, 0, 0xAA, 0xBB];
        Assert.Equal(expected, File.ReadAllBytes(file));
    }

    [Fact]
    public void Empty_journal_has_sequence_zero_and_reads_nothing()
    {
        using var dir = new TempJournalDirectory();
        using var journal = FileJournal.Open(dir.Path);
        Assert.Equal(0, journal.LastSequence);
        Assert.Equal(0, journal.DurableSequence);
        Assert.Empty(journal.ReadAfter(0));
        Assert.Empty(dir.SegmentFiles());
    }

    [Fact]
    public void Records_round_trip_across_segment_rolls()
    {
        using var dir = new TempJournalDirectory();
        using (var journal = FileJournal.Open(dir.Path, new JournalOptions { SegmentSize = 4096 }))
        {
            for (var s = 1; s <= 2000; s++) journal.Append(s, PayloadFor(s));
            journal.Commit();
            Assert.Equal(2000, journal.DurableSequence);
            AssertRecords(journal, 1, 2000);
            AssertRecords(journal, 1501, 2000);
        }
        Assert.True(dir.SegmentFiles().Length > 20);
        Assert.All(dir.SegmentFiles(), f => Assert.True(new FileInfo(f).Length <= 4096));
        using var reopened = FileJournal.Open(dir.Path, NoFsync(4096));
        Assert.Equal(2000, reopened.Recovery.Records);
        AssertRecords(reopened, 1, 2000);
    }

    [Fact]
    public void Abandoning_keeps_what_was_committed_and_drops_what_was_only_appended()
    {
        using var dir = new TempJournalDirectory();
        var journal = FileJournal.Open(dir.Path, NoFsync());
        for (var s = 1; s <= 10; s++) journal.Append(s, PayloadFor(s));
        journal.Commit();
        for (var s = 11; s <= 15; s++) journal.Append(s, PayloadFor(s));

        journal.Abandon();

        using var reopened = FileJournal.Open(dir.Path, NoFsync());
        Assert.Equal(10, reopened.LastSequence);
        AssertRecords(reopened, 1, 10);
    }

    [Fact]
    public async Task A_flush_waiting_for_records_the_journal_abandons_is_told_instead_of_waiting_for_ever()
    {
        using var dir = new TempJournalDirectory();
        var journal = FileJournal.Open(dir.Path, NoFsync());
        journal.Append(1, PayloadFor(1));
        var flush = Task.Run(journal.Flush); // another thread, e.g. a snapshot making sure its inputs are on disk

        await Task.Delay(50);
        journal.Abandon();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => flush.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public void A_data_folder_is_made_with_its_missing_parents_and_the_mode_asked_for()
    {
        using var dir = new TempJournalDirectory();
        var target = Path.Combine(dir.Path, "a", "b", "journal");
        const UnixFileMode ownerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

        var made = DirectorySync.Create(target, ownerOnly); // each new name synced into its parent on the way

        Assert.True(made.Exists);
        Assert.Equal(Path.GetFullPath(target), made.FullName);
        Assert.True(Directory.Exists(Path.Combine(dir.Path, "a", "b")));
        if (!OperatingSystem.IsWindows()) Assert.Equal(ownerOnly, File.GetUnixFileMode(target));
        Assert.Equal(made.FullName, DirectorySync.Create(target).FullName); // there already: nothing to do
    }

    [Fact]
    public void Disposing_commits_what_was_appended()
    {
        using var dir = new TempJournalDirectory();
        var journal = FileJournal.Open(dir.Path, NoFsync());
        for (var s = 1; s <= 15; s++) journal.Append(s, PayloadFor(s));

        journal.Dispose();

        using var reopened = FileJournal.Open(dir.Path, NoFsync());
        Assert.Equal(15, reopened.LastSequence);
    }

    [Fact]
    public void Record_larger_than_a_segment_gets_a_segment_of_its_own()
    {
        using var dir = new TempJournalDirectory();
        using (var journal = FileJournal.Open(dir.Path, NoFsync(100)))
        {
            journal.Append(1, new byte[10]);
            journal.Append(2, new byte[500]);
            journal.Append(3, new byte[10]);
        }
        Assert.Equal(3, dir.SegmentFiles().Length);
        using var reopened = FileJournal.Open(dir.Path, NoFsync(100));
        Assert.Equal([10, 500, 10], reopened.ReadAfter(0).Select(r => r.Payload.Length));
    }

    [Fact]
    public void Reopen_after_dispose_continues_the_sequence()
    {
        using var dir = new TempJournalDirectory();
        dir.Write(1, 10, NoFsync());
        using (var journal = FileJournal.Open(dir.Path, NoFsync()))
        {
            Assert.Equal(10, journal.LastSequence);
            Assert.Equal(10, journal.DurableSequence);
            Assert.False(journal.Recovery.WasTruncated);
            Assert.Throws<ArgumentOutOfRangeException>(() => journal.Append(10, PayloadFor(10)));
            for (var s = 11; s <= 20; s++) journal.Append(s, PayloadFor(s));
        }
        using var again = FileJournal.Open(dir.Path, NoFsync());
        Assert.Equal(20, again.LastSequence);
        AssertRecords(again, 1, 20);
        Assert.Single(dir.SegmentFiles());
    }

    [Fact]
    public void Sequences_may_skip_but_never_go_back()
    {
        using var dir = new TempJournalDirectory();
        using var journal = FileJournal.Open(dir.Path, NoFsync());
        journal.Append(5, [1]);
        journal.Append(9, [2]);
        Assert.Throws<ArgumentOutOfRangeException>(() => journal.Append(9, [3]));
        Assert.Throws<ArgumentOutOfRangeException>(() => journal.Append(7, [3]));
        journal.Commit();
        Assert.Equal([5L, 9L], journal.ReadAfter(0).Select(r => r.Sequence));
        Assert.Equal([9L], journal.ReadAfter(5).Select(r => r.Sequence));
    }

    [Fact]
    public void A_second_open_of_the_same_directory_is_refused()
    {
        using var dir = new TempJournalDirectory();
        using var journal = FileJournal.Open(dir.Path, NoFsync());
        Assert.ThrowsAny<IOException>(() => FileJournal.Open(dir.Path, NoFsync()));
    }

    [Fact]
    public void Delete_segments_before_removes_only_whole_covered_segments()
    {
        using var dir = new TempJournalDirectory();
        using var journal = FileJournal.Open(dir.Path, NoFsync(1024));
        for (var s = 1; s <= 300; s++) journal.Append(s, PayloadFor(s));
        journal.Commit();
        var firsts = dir.SegmentFiles().Select(f => long.Parse(Path.GetFileNameWithoutExtension(f))).ToArray();
        Assert.True(firsts.Length > 5);

        // Up to just before the 4th segment's first record: the first three go.
        Assert.Equal(3, journal.DeleteSegmentsBefore(firsts[3] - 1));
        Assert.Equal(firsts.Length - 3, dir.SegmentFiles().Length);
        // One short of the 5th segment's start leaves the 4th, which still holds that record.
        Assert.Equal(0, journal.DeleteSegmentsBefore(firsts[4] - 2));
        AssertRecords(journal, firsts[3], 300);

        // Never the segment being written, whatever the sequence.
        Assert.Equal(firsts.Length - 4, journal.DeleteSegmentsBefore(long.MaxValue));
        Assert.Single(dir.SegmentFiles());
        journal.Append(301, PayloadFor(301));
        journal.Commit();
        AssertRecords(journal, firsts[^1], 301);
    }

    [Fact]
    public void Read_after_skips_deleted_history_and_starts_where_asked()
    {
        using var dir = new TempJournalDirectory();
        dir.Write(1, 500, NoFsync(2048));
        using var journal = FileJournal.Open(dir.Path, NoFsync(2048));
        journal.DeleteSegmentsBefore(250);
        var first = journal.ReadAfter(0).First().Sequence;
        Assert.InRange(first, 2, 251);
        AssertRecords(journal, 251, 500);
        Assert.Empty(journal.ReadAfter(500));
    }
}
