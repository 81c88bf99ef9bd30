using Exchange.Engine;
using Microsoft.Extensions.Logging.Abstractions;

namespace Exchange.Data.Tests;

/// <summary>The recorder's queue alone: memory, the overflow file, and the moves between them.</summary>
public sealed class RecorderQueueTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"recorder-queue-test-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_directory)) Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public void Items_come_out_once_and_in_order_while_the_queue_moves_between_memory_and_file()
    {
        const int Count = 200_000;
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        using var queue = new RecorderQueue(capacity: 50, _directory, NullLogger.Instance);
        var producer = new Thread(() =>
        {
            for (var i = 1; i <= Count; i++)
            {
                if (!queue.TryWrite(Balance(i))) throw new InvalidOperationException("refused");
                if (i % 10_000 != 0 || i == Count) continue;
                // Bursts: the reader catches up between them and goes back to memory. (A marker
                // still on its way after the last item counts too, hence not after the last burst.)
                while (queue.Count > 0) Thread.Sleep(1);
                Thread.Sleep(5);
            }
        });
        producer.Start();

        var expected = 1L;
        var random = new Random(7);
        while (expected <= Count)
        {
            Assert.True(queue.WaitToRead(stop.Token));
            var taken = 0;
            while (taken < 500 && queue.TryRead(out var item))
            {
                Assert.Equal(expected++, ((BalanceChanged)item).Header.EventSequence);
                taken++;
            }
            queue.Committed();
            if (random.Next(20) == 0) Thread.Sleep(random.Next(1, 4)); // a slow batch now and then
        }
        producer.Join();

        Assert.True(queue.Overflowed > 0, "never overflowed");
        // Each burst that began in memory put its first 50 items there.
        Assert.InRange(queue.Overflowed, Count / 2, Count - 2 * 50);

        // Go on as the recorder does: the reader finds nothing more, commits, and the file goes.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Directory.Exists(_directory))
        {
            Assert.True(DateTime.UtcNow < deadline, "the drained file was not deleted");
            using var shortWait = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
            try
            {
                if (queue.WaitToRead(shortWait.Token)) Assert.False(queue.TryRead(out _));
            }
            catch (OperationCanceledException)
            {
            }
            queue.Committed();
        }
    }

    [Fact]
    public void After_completion_writes_are_refused_and_the_reader_ends_once_the_file_is_read()
    {
        using var queue = new RecorderQueue(capacity: 2, _directory, NullLogger.Instance);
        for (var i = 1; i <= 10; i++) Assert.True(queue.TryWrite(Balance(i)));
        queue.Complete();
        Assert.False(queue.TryWrite(Balance(11)));

        var read = new List<long>();
        while (queue.WaitToRead(CancellationToken.None))
        {
            while (queue.TryRead(out var item)) read.Add(((BalanceChanged)item).Header.EventSequence);
            queue.Committed();
        }
        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), read);
        Assert.Equal(8, queue.Overflowed);
    }

    [Fact]
    public void Items_that_fill_memory_again_before_the_reader_gets_back_to_it_follow_it_through_the_file()
    {
        using var queue = new RecorderQueue(capacity: 2, _directory, NullLogger.Instance);
        var read = new List<long>();
        void ReadWhatIsThere()
        {
            while (queue.TryRead(out var item)) read.Add(((BalanceChanged)item).Header.EventSequence);
        }

        for (var i = 1; i <= 4; i++) Assert.True(queue.TryWrite(Balance(i))); // 1-2 in memory, 3-4 in the file
        while (read.Count < 4)
        {
            Assert.True(queue.WaitToRead(CancellationToken.None));
            ReadWhatIsThere();
        }
        // The reader is at the file's end and has sent writers back to memory; before it gets
        // there, memory fills up again and 7 goes to the file, behind the marker.
        for (var i = 5; i <= 7; i++) Assert.True(queue.TryWrite(Balance(i)));
        while (read.Count < 7)
        {
            Assert.True(queue.WaitToRead(CancellationToken.None));
            ReadWhatIsThere();
        }

        Assert.Equal(Enumerable.Range(1, 7).Select(i => (long)i), read);
        Assert.Equal(3, queue.Overflowed);
    }

    private static BalanceChanged Balance(long sequence) =>
        new(new EventHeader(sequence, sequence, 1_700_000_000_000 + sequence, Guid.Empty), EngineScript.User(1), new Usd(sequence), default);
}
