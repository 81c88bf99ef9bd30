using static Exchange.Journal.Tests.TempJournalDirectory;

namespace Exchange.Journal.Tests;

/// <summary>
/// <see cref="FileJournal.CutDamagedTail"/>: what a power cut can leave (the last batch with a
/// page that never reached the disk between pages that did) is set aside on an operator's word,
/// and nothing else is.
/// </summary>
public class DamagedTailCutTests
{
    private const int OneCommit = 4096;

    private static JournalTailCut? Cut(TempJournalDirectory dir, long acknowledgedThrough, bool apply = true, int maxRecordsPerCommit = OneCommit, JournalOptions? options = null) =>
        FileJournal.CutDamagedTail(dir.Path, acknowledgedThrough, maxRecordsPerCommit, apply, options ?? NoFsync(), out _);

    /// <summary>Records 1..9, then record <paramref name="hole"/>'s bytes zeroed as if its page never reached the disk.</summary>
    private static (TempJournalDirectory Dir, string Segment, byte[] Before, int HoleAt) JournalWithHoleAt(long hole, long segmentSize = JournalOptions.DefaultSegmentSize)
    {
        var dir = new TempJournalDirectory();
        dir.Write(1, 9, NoFsync(segmentSize));
        var segment = dir.SegmentFiles()[^1];
        var bytes = File.ReadAllBytes(segment);
        var (at, _) = RecordsIn(bytes).Single(r => r.Sequence == hole);
        Array.Clear(bytes, at, 16 + PayloadFor(hole).Length);
        File.WriteAllBytes(segment, bytes);
        return (dir, segment, bytes, at);
    }

    [Fact]
    public void A_hole_in_the_last_segment_before_valid_records_refuses_to_open_and_says_it_may_be_an_unacknowledged_tail()
    {
        var (dir, _, _, holeAt) = JournalWithHoleAt(7);
        using (dir)
        {
            var error = Assert.Throws<JournalCorruptException>(() => FileJournal.Open(dir.Path, NoFsync()));
            Assert.True(error.MayBeUnacknowledgedTail);
            Assert.Equal(holeAt, error.Offset);
        }
    }

    [Fact]
    public void Cutting_sets_the_tail_aside_from_the_hole_on_and_the_journal_opens_and_continues()
    {
        var (dir, segment, before, holeAt) = JournalWithHoleAt(7);
        using (dir)
        {
            var cut = Cut(dir, acknowledgedThrough: 6);

            Assert.NotNull(cut);
            Assert.Equal(segment, cut.SegmentPath);
            Assert.Equal(holeAt, cut.Offset);
            Assert.Equal(before.Length - holeAt, cut.Bytes);
            Assert.Equal(6, cut.LastSequenceKept);
            Assert.Equal([8L, 9L], cut.SequencesSetAside);
            Assert.Equal(before[holeAt..], File.ReadAllBytes(cut.SavedTo!));
            Assert.Equal(holeAt, new FileInfo(segment).Length);
            using (var journal = FileJournal.Open(dir.Path, NoFsync()))
            {
                Assert.False(journal.Recovery.WasTruncated);
                AssertRecords(journal, 1, 6);
                journal.Append(7, PayloadFor(7));
            }
            using var reopened = FileJournal.Open(dir.Path, NoFsync());
            AssertRecords(reopened, 1, 7);
        }
    }

    [Fact]
    public void Appending_the_saved_bytes_to_the_segment_undoes_the_cut()
    {
        var (dir, segment, before, _) = JournalWithHoleAt(7);
        using (dir)
        {
            var cut = Cut(dir, acknowledgedThrough: 0)!;

            using (var stream = new FileStream(segment, FileMode.Append)) stream.Write(File.ReadAllBytes(cut.SavedTo!));

            Assert.Equal(before, File.ReadAllBytes(segment));
        }
    }

    [Fact]
    public void A_snapshot_past_the_last_record_kept_shows_the_records_were_acknowledged_and_nothing_is_cut()
    {
        var (dir, segment, before, _) = JournalWithHoleAt(7);
        using (dir)
        {
            var error = Assert.Throws<JournalCorruptException>(() => Cut(dir, acknowledgedThrough: 7));

            Assert.Contains("acknowledged", error.Message);
            Assert.Equal(before, File.ReadAllBytes(segment));
            Assert.Equal([segment], Directory.GetFiles(dir.Path).Where(f => !f.EndsWith(".lock", StringComparison.Ordinal)));
        }
    }

    [Fact]
    public void Damage_before_the_last_segment_is_never_cut()
    {
        using var dir = new TempJournalDirectory();
        dir.Write(1, 100, NoFsync(512));
        var first = dir.SegmentFiles()[0];
        var bytes = File.ReadAllBytes(first);
        bytes[20] ^= 0x01;
        File.WriteAllBytes(first, bytes);

        var error = Assert.Throws<JournalCorruptException>(() => Cut(dir, acknowledgedThrough: 0, options: NoFsync(512)));

        Assert.False(error.MayBeUnacknowledgedTail);
        Assert.Equal(bytes, File.ReadAllBytes(first));
        Assert.Empty(Directory.GetFiles(dir.Path, "cut-*"));
    }

    [Fact]
    public void A_whole_record_whose_sequence_goes_back_is_not_a_power_cut_and_is_not_cut()
    {
        using var dir = new TempJournalDirectory();
        dir.Write(1, 5, NoFsync());
        var file = dir.SegmentFiles()[0];
        var stale = new byte[16 + 3];
        RecordFormat.WriteHeader(stale, 3, 2);
        RecordFormat.Seal(stale);
        using (var stream = new FileStream(file, FileMode.Append)) stream.Write(stale);
        var before = File.ReadAllBytes(file);

        var error = Assert.Throws<JournalCorruptException>(() => Cut(dir, acknowledgedThrough: 0));

        Assert.False(error.MayBeUnacknowledgedTail);
        Assert.Equal(before, File.ReadAllBytes(file));
    }

    [Fact]
    public void A_journal_that_opens_has_nothing_to_cut()
    {
        using var dir = new TempJournalDirectory();
        dir.Write(1, 9, NoFsync());
        var files = Directory.GetFiles(dir.Path);

        Assert.Null(FileJournal.CutDamagedTail(dir.Path, 9, OneCommit, apply: true, NoFsync(), out var opened));
        Assert.NotNull(opened);
        Assert.Equal(9, opened.LastSequence);

        Assert.Equal(files, Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void A_hole_at_the_start_of_the_last_segment_cuts_that_segment_away()
    {
        using var dir = new TempJournalDirectory();
        dir.Write(1, 100, NoFsync(512));
        var last = dir.SegmentFiles()[^1];
        var firstOfLast = long.Parse(Path.GetFileNameWithoutExtension(last));
        var bytes = File.ReadAllBytes(last);
        var (_, second) = RecordsIn(bytes).Skip(1).First();
        Assert.True(second > firstOfLast, "the last segment needs a record after the hole");
        Array.Clear(bytes, 0, 16 + PayloadFor(firstOfLast).Length);
        File.WriteAllBytes(last, bytes);

        var cut = FileJournal.CutDamagedTail(dir.Path, firstOfLast - 1, OneCommit, apply: true, NoFsync(512), out _)!;

        Assert.Equal(0, cut.Offset);
        Assert.Equal(firstOfLast - 1, cut.LastSequenceKept);
        Assert.False(File.Exists(last));
        using var journal = FileJournal.Open(dir.Path, NoFsync(512));
        AssertRecords(journal, 1, firstOfLast - 1);
    }

    [Fact]
    public void A_journal_in_use_is_not_touched()
    {
        var (dir, segment, before, _) = JournalWithHoleAt(7);
        using (dir)
        {
            using var held = ExclusiveLockFile.TryTake(Path.Combine(dir.Path, "journal.lock"));
            Assert.NotNull(held);

            Assert.Throws<JournalInUseException>(() => Cut(dir, acknowledgedThrough: 0));

            Assert.Equal(before, File.ReadAllBytes(segment));
        }
    }

    [Fact]
    public void Without_apply_it_says_what_it_would_cut_and_changes_nothing()
    {
        var (dir, segment, before, holeAt) = JournalWithHoleAt(7);
        using (dir)
        {
            var cut = Cut(dir, acknowledgedThrough: 6, apply: false);

            Assert.NotNull(cut);
            Assert.Null(cut.SavedTo);
            Assert.Equal(holeAt, cut.Offset);
            Assert.Equal([8L, 9L], cut.SequencesSetAside);
            Assert.Equal(before, File.ReadAllBytes(segment));
            Assert.Empty(Directory.GetFiles(dir.Path, "cut-*"));
            Assert.Throws<JournalCorruptException>(() => FileJournal.Open(dir.Path, NoFsync()));
        }
    }

    [Fact]
    public void Records_after_the_damage_further_than_one_commit_writes_show_a_later_commit_and_nothing_is_cut()
    {
        var (dir, segment, before, _) = JournalWithHoleAt(7);
        using (dir)
        {
            // Records 8 and 9 follow the hole: with at most two records a commit, 9 came in a later one.
            var error = Assert.Throws<JournalCorruptException>(() => Cut(dir, acknowledgedThrough: 0, maxRecordsPerCommit: 2));

            Assert.Contains("a later commit was written after it", error.Message);
            Assert.Equal(before, File.ReadAllBytes(segment));
            Assert.NotNull(Cut(dir, acknowledgedThrough: 0, maxRecordsPerCommit: 3)); // 7, 8, 9: one commit could hold them
        }
    }

    [Fact]
    public void With_fsync_the_zeros_filled_ahead_go_with_the_tail_and_the_journal_continues()
    {
        using var dir = new TempJournalDirectory();
        dir.Write(1, 9, JournalOptions.Default);
        var segment = dir.SegmentFiles()[^1];
        var bytes = File.ReadAllBytes(segment);
        var (holeAt, _) = RecordsIn(bytes).Single(r => r.Sequence == 7);
        Array.Clear(bytes, holeAt, 16 + PayloadFor(7).Length);
        File.WriteAllBytes(segment, bytes);

        var cut = FileJournal.CutDamagedTail(dir.Path, 6, OneCommit, apply: true, JournalOptions.Default, out _)!;

        Assert.Equal(bytes.Length - holeAt, cut.Bytes); // the records and the zero fill after them
        Assert.Equal([8L, 9L], cut.SequencesSetAside);
        using (var journal = FileJournal.Open(dir.Path, JournalOptions.Default))
        {
            AssertRecords(journal, 1, 6);
            journal.Append(7, PayloadFor(7));
            journal.Commit();
        }
        using var reopened = FileJournal.Open(dir.Path, JournalOptions.Default);
        AssertRecords(reopened, 1, 7);
    }

    [Fact]
    public void A_saved_tail_left_by_an_attempt_that_stopped_before_the_cut_is_used_again_and_another_file_is_never_overwritten()
    {
        var (dir, segment, before, holeAt) = JournalWithHoleAt(7);
        using (dir)
        {
            var name = Path.Combine(dir.Path, $"cut-{Path.GetFileNameWithoutExtension(segment)}-at-{holeAt}.bin");
            File.WriteAllBytes(name, before[holeAt..]); // saved, then the power went before the segment was cut

            var cut = Cut(dir, acknowledgedThrough: 0)!;

            Assert.Equal(name, cut.SavedTo);
            Assert.Equal(before[holeAt..], File.ReadAllBytes(name));
        }

        var (other, otherSegment, otherBefore, otherHole) = JournalWithHoleAt(7);
        using (other)
        {
            var name = Path.Combine(other.Path, $"cut-{Path.GetFileNameWithoutExtension(otherSegment)}-at-{otherHole}.bin");
            File.WriteAllBytes(name, [1, 2, 3]); // something else under that name

            var cut = Cut(other, acknowledgedThrough: 0)!;

            Assert.NotEqual(name, cut.SavedTo);
            Assert.Equal([1, 2, 3], File.ReadAllBytes(name));
            Assert.Equal(otherBefore[otherHole..], File.ReadAllBytes(cut.SavedTo!));
        }
    }
}
