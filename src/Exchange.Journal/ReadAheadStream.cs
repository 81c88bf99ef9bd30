using System.Buffers;
using System.Collections.Concurrent;

namespace Exchange.Journal;

/// <summary>
/// Reads a stream on another thread, a few chunks ahead of whoever reads this one: for a
/// snapshot, decompression on one core while the state is hashed and decoded on the other.
/// The source's failure (a corrupt gzip stream, say) surfaces on the next read after the
/// bytes that came before it, as reading the source directly would.
/// </summary>
internal sealed class ReadAheadStream : Stream
{
    private const int ChunkSize = 256 << 10;
    private const int ChunksAhead = 8;

    private readonly BlockingCollection<(byte[] Buffer, int Length)> _full = new(ChunksAhead);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _reader;
    private Exception? _failure;
    private byte[]? _current;
    private int _offset;
    private int _length;
    private bool _ended;
    private int _disposed;

    public ReadAheadStream(Stream source)
    {
        _reader = Task.Run(() =>
        {
            try
            {
                var ended = false;
                while (!ended)
                {
                    var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
                    var n = 0;
                    try
                    {
                        while (n < ChunkSize)
                        {
                            var read = source.Read(buffer, n, ChunkSize - n);
                            if (read == 0)
                            {
                                ended = true;
                                break;
                            }
                            n += read;
                        }
                    }
                    catch (Exception e)
                    {
                        // Hand over what came before the failure, then the failure.
                        _failure = e;
                        ended = true;
                    }
                    if (n > 0) _full.Add((buffer, n), _stop.Token);
                    else ArrayPool<byte>.Shared.Return(buffer);
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                // The consumer stopped reading (disposed early).
            }
            finally
            {
                _full.CompleteAdding();
            }
        });
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty) return 0;
        if (_offset == _length && !NextChunk()) return 0;
        var n = Math.Min(buffer.Length, _length - _offset);
        _current.AsSpan(_offset, n).CopyTo(buffer);
        _offset += n;
        return n;
    }

    private bool NextChunk()
    {
        ReturnCurrent();
        if (!_ended && _full.TryTake(out var chunk, Timeout.Infinite))
        {
            (_current, _offset, _length) = (chunk.Buffer, 0, chunk.Length);
            return true;
        }
        _ended = true;
        // Every read after a failure fails: a truncated source must never look like a clean end.
        if (_failure is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(_failure);
        return false;
    }

    private void ReturnCurrent()
    {
        if (_current is not null) ArrayPool<byte>.Shared.Return(_current);
        (_current, _offset, _length) = (null, 0, 0);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _stop.Cancel();
            _reader.Wait();
            ReturnCurrent();
            while (_full.TryTake(out var chunk)) ArrayPool<byte>.Shared.Return(chunk.Buffer);
            _full.Dispose();
            _stop.Dispose();
        }
        base.Dispose(disposing);
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
