using System.Buffers;
using System.Collections.Concurrent;
using System.Threading.Channels;
using Exchange.Journal;
using Microsoft.Extensions.Logging;

namespace Exchange.Data;

/// <summary>A waiter in the recorder's queue: done once everything queued before it is committed.</summary>
internal sealed class FlushMarker
{
    public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>
/// The recorder's queue. Items wait in memory, and once memory is full in an overflow file (a
/// <see cref="FileJournal"/> of its own), so whoever enqueues (the engine thread) never waits,
/// however long the database is away. Items come out in the order they went in: from the first
/// item that goes to the file, every later one follows it there until the reader has read the
/// file to its end; then memory serves again, and once that last read is committed the file's
/// folder is deleted. The file is written and fsynced by a thread of its own
/// (<c>recorder-overflow</c>), never by the thread that enqueues.
/// <para>
/// One reader at a time (the recorder's writer threads take turns); any thread may write.
/// A file left by an earlier run is read first, for its orders only: the events in it are after
/// the database's cursor, and recovery re-creates every such event, in order, from the journal.
/// </para>
/// </summary>
internal sealed class RecorderQueue : IDisposable
{
    private readonly Channel<object> _memory;
    private readonly int _capacity;
    private readonly string _directory;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly Thread _fileThread;
    private readonly SemaphoreSlim _fileWork = new(0);
    private readonly ConcurrentQueue<object> _toFile = new();
    private readonly ConcurrentDictionary<long, FlushMarker> _markers = new();

    // Changed under _lock; _overflowing is also read without it on the writers' fast path.
    private volatile bool _overflowing;
    private bool _completed;
    private FileJournal? _file;
    private long _readCommitted; // file records up to here are in the database

    private int _toFileCount; // handed to the file thread, not yet committed to the file
    private int _fileSignalled;
    private volatile bool _disposing;
    private long _appended; // the file thread's last record sequence (sequences go on across files)
    private readonly long _leftoverUntil; // records up to here are from an earlier run
    private TaskCompletionSource _fileCommitted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _overflowed;

    // The reader's.
    private IEnumerator<JournalRecord>? _records;
    private long _read;
    private Task<bool>? _memoryWait;

    public RecorderQueue(int capacity, string directory, ILogger logger)
    {
        _capacity = capacity;
        _directory = directory;
        _logger = logger;
        _memory = Channel.CreateBounded<object>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait, // TryWrite fails when full; nobody waits
        });
        _file = OpenLeftover();
        if (_file is not null)
        {
            _appended = _leftoverUntil = _file.LastSequence;
            _overflowing = true;
        }
        _fileThread = new Thread(WriteFile) { IsBackground = true, Name = "recorder-overflow" };
        _fileThread.Start();
    }

    /// <summary>Items waiting, in memory and in the file.</summary>
    public int Count
    {
        get
        {
            var inFile = _overflowing && Volatile.Read(ref _file) is { } file ? Math.Max(0, file.DurableSequence - Volatile.Read(ref _read)) : 0;
            return (int)Math.Min(int.MaxValue, _memory.Reader.Count + Volatile.Read(ref _toFileCount) + inFile);
        }
    }

    /// <summary>Items that went to the overflow file because memory was full.</summary>
    public long Overflowed => Interlocked.Read(ref _overflowed);

    /// <summary>Queues an item without waiting; false once <see cref="Complete"/> was called.</summary>
    public bool TryWrite(object item)
    {
        if (!_overflowing && _memory.Writer.TryWrite(item)) return true;
        lock (_lock)
        {
            if (_completed) return false;
            if (!_overflowing)
            {
                if (_memory.Writer.TryWrite(item)) return true;
                _overflowing = true;
                _logger.LogWarning("The event recorder's queue is full ({Capacity} items): what follows waits in {Directory} until the database catches up",
                    _capacity, _directory);
            }
            ToFile(item);
        }
        return true;
    }

    /// <summary>Under <see cref="_lock"/>.</summary>
    private void ToFile(object item)
    {
        _toFile.Enqueue(item);
        Interlocked.Increment(ref _toFileCount);
        Interlocked.Increment(ref _overflowed);
        SignalFileThread();
    }

    private void SignalFileThread()
    {
        if (Interlocked.Exchange(ref _fileSignalled, 1) == 0) _fileWork.Release();
    }

    /// <summary>No more writes; the reader drains what is queued.</summary>
    public void Complete()
    {
        lock (_lock) _completed = true;
        _memory.Writer.TryComplete();
        Volatile.Read(ref _fileCommitted).TrySetResult();
    }

    /// <summary>The reader: the next item, oldest first.</summary>
    public bool TryRead(out object item)
    {
        if (_memory.Reader.TryRead(out item!)) return true;
        while (_overflowing)
        {
            if (_records is not null)
            {
                while (_records.MoveNext())
                {
                    var record = _records.Current;
                    Volatile.Write(ref _read, record.Sequence);
                    if (TryDecode(record, out item)) return true;
                }
                _records.Dispose();
                _records = null;
            }
            lock (_lock)
            {
                // Read before the file's end: the file thread commits, then counts down, so with
                // none on the way here (and none added, under the lock) the end read next is final.
                var onTheWay = Volatile.Read(ref _toFileCount);
                if (_file is null || _file.DurableSequence <= _read)
                {
                    // Read to the end: memory serves again once nothing is on its way to the file either.
                    if (onTheWay == 0)
                    {
                        _overflowing = false;
                        _logger.LogInformation("The event recorder has read its overflow file to the end");
                    }
                    break;
                }
                _records = _file.ReadAfter(_read).GetEnumerator();
            }
        }
        return _memory.Reader.TryRead(out item!);
    }

    private bool TryDecode(JournalRecord record, out object item)
    {
        item = null!;
        var (kind, decoded) = RecorderItemCodec.Decode(record.Payload.Span);
        if (kind == RecorderItemCodec.Kind.FlushMarker)
        {
            if (!_markers.TryRemove(record.Sequence, out var marker)) return false; // an earlier run's
            item = marker;
            return true;
        }
        if (decoded is null)
        {
            _logger.LogWarning("Skipping overflow record {Sequence} of another version", record.Sequence);
            return false;
        }
        if (record.Sequence <= _leftoverUntil && decoded is not OrderRecord) return false;
        item = decoded;
        return true;
    }

    /// <summary>The reader: waits until an item may be there; false once completed and empty.</summary>
    public bool WaitToRead(CancellationToken cancellationToken)
    {
        while (true)
        {
            var committed = Volatile.Read(ref _fileCommitted);
            if (_memory.Reader.Count > 0 || HasUnreadInFile()) return true;
            // One wait on memory at a time: while overflowing, nothing arrives there for long.
            var memory = _memoryWait is { IsCompleted: false } pending
                ? pending
                : _memoryWait = _memory.Reader.WaitToReadAsync(cancellationToken).AsTask();
            if (!memory.IsCompleted) Task.WaitAny([memory, committed.Task], cancellationToken);
            cancellationToken.ThrowIfCancellationRequested();
            if (memory.IsCompleted && !memory.GetAwaiter().GetResult() && !_overflowing) return false;
            if (committed.Task.IsCompleted)
            {
                Interlocked.CompareExchange(ref _fileCommitted, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), committed);
            }
            else if (memory.IsCompleted && !memory.GetAwaiter().GetResult())
            {
                // Completed while overflowing: the next TryRead takes the rest of the file or goes
                // back to memory, unless some is still on its way to the file.
                if (Volatile.Read(ref _toFileCount) == 0) return true;
                committed.Task.Wait(cancellationToken);
            }
        }
    }

    private bool HasUnreadInFile()
    {
        if (!_overflowing) return false;
        if (_records is not null) return true;
        lock (_lock) return _file is not null && _file.DurableSequence > _read;
    }

    /// <summary>The reader: everything read so far is in the database; the file may let go of it.</summary>
    public void Committed()
    {
        var read = Volatile.Read(ref _read);
        lock (_lock)
        {
            if (read > _readCommitted)
            {
                _readCommitted = read;
                _file?.DeleteSegmentsBefore(read);
            }
        }
        // Back in memory with a file still there: the file thread deletes it once all of it is committed.
        if (!_overflowing && Volatile.Read(ref _file) is not null) SignalFileThread();
    }

    /// <summary>
    /// At shutdown, for what the database did not take (<paramref name="unwritten"/>, then what is
    /// still in memory): orders go to the file for the next start, flushes are cancelled, events
    /// are left to recovery.
    /// </summary>
    public void Park(IEnumerable<object> unwritten)
    {
        lock (_lock)
        {
            foreach (var item in unwritten.Concat(DrainMemory()))
            {
                if (item is FlushMarker marker) marker.Done.TrySetCanceled();
                else if (item is OrderRecord) ToFile(item);
            }
        }
    }

    private IEnumerable<object> DrainMemory()
    {
        while (_memory.Reader.TryRead(out var item)) yield return item;
    }

    /// <summary>
    /// Writes what is handed over, committing every few thousand records so the reader can start.
    /// A failure ends the process: after a failed write or fsync what reached the disk is
    /// unknown (as with the journal), and nothing else could keep these items.
    /// </summary>
    private void WriteFile()
    {
        try
        {
            WriteFileUntilDisposed();
        }
        catch (Exception e)
        {
            Environment.FailFast($"The event recorder's overflow file in {_directory} failed: {e.Message}", e);
        }
    }

    private void WriteFileUntilDisposed()
    {
        var encoded = new ArrayBufferWriter<byte>(256);
        while (true)
        {
            _fileWork.Wait();
            Volatile.Write(ref _fileSignalled, 0);
            var taken = 0;
            while (_toFile.TryDequeue(out var item))
            {
                var file = Volatile.Read(ref _file) ?? OpenNew();
                var sequence = ++_appended;
                if (item is FlushMarker marker) _markers[sequence] = marker;
                encoded.ResetWrittenCount();
                RecorderItemCodec.Encode(item, encoded);
                file.Append(sequence, encoded.WrittenSpan);
                if (++taken == 4096) taken = Commit(file, taken);
            }
            if (_file is { } open) Commit(open, taken);
            DeleteIfDone();
            if (_disposing && _toFile.IsEmpty) return;
        }
    }

    private int Commit(FileJournal file, int taken)
    {
        if (taken == 0) return 0;
        file.Commit();
        Interlocked.Add(ref _toFileCount, -taken);
        Volatile.Read(ref _fileCommitted).TrySetResult();
        return 0;
    }

    private FileJournal OpenNew()
    {
        var file = FileJournal.Open(_directory);
        lock (_lock) _file = file;
        return file;
    }

    /// <summary>Once the reader has gone back to memory and everything from the file is committed, the folder goes.</summary>
    private void DeleteIfDone()
    {
        lock (_lock)
        {
            if (_overflowing || _file is null || _readCommitted < _appended || !_toFile.IsEmpty) return;
            _file.Dispose();
            _file = null;
            Directory.Delete(_directory, recursive: true);
        }
    }

    /// <summary>A file left by an earlier run (its torn tail cut), or null; a damaged one is set aside.</summary>
    private FileJournal? OpenLeftover()
    {
        if (!Directory.Exists(_directory)) return null;
        try
        {
            var file = FileJournal.Open(_directory);
            if (file.LastSequence > 0)
            {
                _logger.LogWarning("The event recorder found {Records} overflow records from the last run in {Directory}: recording their orders first",
                    file.LastSequence, _directory);
                return file;
            }
            file.Dispose();
            Directory.Delete(_directory, recursive: true);
        }
        catch (JournalCorruptException e)
        {
            var aside = _directory + ".damaged-" + DateTime.UtcNow.ToString("yyyyMMddHHmmss", System.Globalization.CultureInfo.InvariantCulture);
            Directory.Move(_directory, aside);
            _logger.LogError(e, "The event recorder's overflow file is damaged; moved to {Aside}: orders in it are not recorded", aside);
        }
        return null;
    }

    /// <summary>After the reader has stopped: the file thread commits what it was handed; a drained file is deleted.</summary>
    public void Dispose()
    {
        if (_disposing) return;
        _disposing = true;
        SignalFileThread();
        _fileWork.Release(); // in case the flag was already set
        _fileThread.Join();
        foreach (var marker in _markers.Values) marker.Done.TrySetCanceled(); // in the file, never read
        lock (_lock)
        {
            _records?.Dispose();
            _records = null;
            _file?.Dispose();
            _file = null;
        }
        _fileWork.Dispose();
    }
}
