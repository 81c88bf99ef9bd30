namespace Exchange.Journal.Tests;

public sealed class ReadAheadStreamTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(256 << 10)]
    [InlineData((256 << 10) + 1)]
    [InlineData(5_000_000)]
    public void Passes_every_byte_through_in_order_whatever_the_read_sizes(int length)
    {
        var data = new byte[length];
        new Random(length).NextBytes(data);
        using var stream = new ReadAheadStream(new MemoryStream(data));
        var random = new Random(7);
        var read = new MemoryStream();
        var buffer = new byte[100_000];
        int n;
        while ((n = stream.Read(buffer, 0, random.Next(1, buffer.Length))) > 0) read.Write(buffer, 0, n);
        Assert.Equal(data, read.ToArray());
        Assert.Equal(0, stream.Read(buffer, 0, buffer.Length));
    }

    [Fact]
    public void The_sources_failure_comes_after_the_bytes_read_before_it()
    {
        using var stream = new ReadAheadStream(new FailingStream(bytesBeforeFailure: 600_000));
        var buffer = new byte[4096];
        long total = 0;
        var e = Assert.Throws<InvalidDataException>(() =>
        {
            int n;
            while ((n = stream.Read(buffer)) > 0) total += n;
        });
        Assert.Equal(600_000, total);
        Assert.Equal("bad block", e.Message);
        Assert.Throws<InvalidDataException>(() => stream.Read(buffer)); // never a clean end after a failure
    }

    [Fact]
    public void Disposing_before_the_end_stops_the_reader()
    {
        var source = new FailingStream(bytesBeforeFailure: long.MaxValue);
        var stream = new ReadAheadStream(source);
        Assert.Equal(10, stream.Read(new byte[10]));
        stream.Dispose(); // would hang if the reader stayed blocked on a full queue
        stream.Dispose();
        Assert.True(source.Position < long.MaxValue);
    }

    /// <summary>Endless ones, then a failure after the given number of bytes.</summary>
    private sealed class FailingStream(long bytesBeforeFailure) : Stream
    {
        private long _position;

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_position == bytesBeforeFailure) throw new InvalidDataException("bad block");
            var n = (int)Math.Min(count, bytesBeforeFailure - _position);
            buffer.AsSpan(offset, n).Fill(1);
            _position += n;
            return n;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
