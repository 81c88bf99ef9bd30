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

/// <summary>In the overflow file: the items that come next in order are in memory.</summary>
internal sealed class MemoryFollows
{
    public static MemoryFollows Instance { get; } = new();

    private MemoryFollows()
    {
    }
}

/// <summary>
/// The recorder's queue. Items wait in memory, and once memory is full in an overflow file (a
/// <see cref="FileJournal"/> of its own), so whoever enqueues (the engine thread) never waits,
/// however long the database is away. The file is written and fsynced by a thread of its own
/// (<c>recorder-overflow</c>), never by the thread that enqueues.
/// <para>
/// Items come out in the order they went in. From the first item that does not fit in memory,
/// writers go to the file; the reader drains memory, then reads the file. At the file's end it
/// sends writers back to memory and puts a <see cref="MemoryFollows"/> record behind whatever is
/// still on its way to the file; reading that record, it turns to memory. Should memory fill up
/// again before then, the new items go to the file after that record, and the reader comes back
/// to them once memory is drained: the order holds either way. Once every record of the file is
/// committed to the database and writers are in memory, the folder is deleted.
/// </para>
/// <para>
/// One reader at a time (the recorder's writer threads take turns); any thread may write.
/// A file left by an earlier run is read first, for its orders only: the events in it are after
/// the database's cursor, and recovery re-creates every such event, in order, from the journal.
/// </para>
/// </summary>
internal sealed class RecorderQueue : IDisposable
{
    /// <summary>How long the file thread lets items gather before it writes and fsyncs them.</summary>
    private static readonly TimeSpan FileLinger = TimeSpan.FromMilliseconds(10);

    private readonly Channel<object> _memory;
    private readonly int _capacity;
    private readonly string _directory;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly Thread _fileThread;
    private readonly SemaphoreSlim _fileWork = new(0);
    private readonly ConcurrentQueue<object> _toFile = new();
    private readonly ConcurrentDictionary<long, FlushMarker> _markers = new();
    private readonly long _leftoverUntil; // records up to here are from an earlier run

    // Changed under _lock; _toFileRoute is also read without it on the writers' fast path.
    private volatile bool _toFileRoute;
    private bool _completed;
    private FileJournal? _file;
    private long _readCommitted; // file records up to here are in the database

    private int _toFileCount; // handed to the file thread, not yet committed to the file
    private int _fileSignalled;
    private volatile bool _disposing;
    private long _appended; // the file thread's last record sequence (sequences go on across files)
    private TaskCompletionSource _fileCommitted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _overflowed;

    // The reader's.
    private bool _readingFile;
    private bool _handingBack; // a MemoryFollows is on its way to the file
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
            _toFileRoute = _readingFile = true;
        }
        _fileThread = new Thread(WriteFile) { IsBackground = true, Name = "recorder-overflow" };
        _fileThread.Start();
    }

    /// <summary>Items waiting, in memory and in the file.</summary>
    public int Count
    {
        get
        {
            var inFile = Volatile.Read(ref _file) is { } file ? Math.Max(0, file.DurableSequence - Volatile.Read(ref _read)) : 0;
            return (int)Math.Min(int.MaxValue, _memory.Reader.Count + Volatile.Read(ref _toFileCount) + inFile);
        }
    }

    /// <summary>Items that went to the overflow file because memory was full.</summary>
    public long Overflowed => Interlocked.Read(ref _overflowed);

    /// <summary>Queues an item without waiting; false once <see cref="Complete"/> was called.</summary>
    public bool TryWrite(object item)
    {
        if (!_toFileRoute && _memory.Writer.TryWrite(item)) return true;
        lock (_lock)
        {
            if (_completed) return false;
            if (!_toFileRoute)
            {
                if (_memory.Writer.TryWrite(item)) return true;
                _toFileRoute = true;
                _logger.LogWarning("The event recorder's queue is full ({Capacity} items): what follows waits in {Directory} until the database catches up",
                    _capacity, _directory);
            }
            ToFile(item);
            Interlocked.Increment(ref _overflowed);
        }
        return true;
    }

    /// <summary>Under <see cref="_lock"/>.</summary>
    private void ToFile(object item)
    {
        if (_disposing)
        {
            _logger.LogError("The event recorder's queue is closed; not keeping {Item}", item.GetType().Name);
            return;
        }
        _toFile.Enqueue(item);
        Interlocked.Increment(ref _toFileCount);
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
        _memory.Writer.TryComplete(); // wakes a reader waiting on memory; one waiting on the file waits for its marker
    }

    /// <summary>The reader: the next item, oldest first.</summary>
    public bool TryRead(out object item)
    {
        while (true)
        {
            if (!_readingFile)
            {
                if (_memory.Reader.TryRead(out item!)) return true;
                if (!_toFileRoute) return false;
                _readingFile = true; // memory is drained; what came next went to the file
            }
            if (TryReadFile(out item, out var memoryFollows)) return true;
            if (memoryFollows)
            {
                _readingFile = _handingBack = false;
                continue;
            }
            if (!_handingBack)
            {
                // At the end of the file: writers go back to memory, behind a marker that
                // follows everything already on its way to the file.
                lock (_lock)
                {
                    _toFileRoute = false;
                    ToFile(MemoryFollows.Instance);
                }
                _handingBack = true;
            }
            return false;
        }
    }

    /// <summary>The next item of the file that is durable; false at its end or at a <see cref="MemoryFollows"/> of this run.</summary>
    private bool TryReadFile(out object item, out bool memoryFollows)
    {
        item = null!;
        memoryFollows = false;
        while (true)
        {
            if (_records is null)
            {
                lock (_lock)
                {
                    if (!DurableUnread()) return false;
                    _records = _file!.ReadAfter(_read).GetEnumerator();
                }
            }
            while (_records.MoveNext())
            {
                var record = _records.Current;
                Volatile.Write(ref _read, record.Sequence);
                var (kind, decoded) = RecorderItemCodec.Decode(record.Payload.Span);
                if (kind == RecorderItemCodec.Kind.MemoryFollows && record.Sequence > _leftoverUntil)
                {
                    _records.Dispose();
                    _records = null;
                    memoryFollows = true;
                    return false;
                }
                if (TryTake(record.Sequence, kind, decoded, out item)) return true;
            }
            _records.Dispose();
            _records = null;
        }
    }

    private bool TryTake(long sequence, RecorderItemCodec.Kind kind, object? decoded, out object item)
    {
        item = null!;
        if (kind == RecorderItemCodec.Kind.FlushMarker)
        {
            if (!_markers.TryRemove(sequence, out var marker)) return false; // an earlier run's
            item = marker;
            return true;
        }
        if (decoded is null)
        {
            if (kind != RecorderItemCodec.Kind.MemoryFollows)
                _logger.LogWarning("Skipping overflow record {Sequence} of another version", sequence);
            return false;
        }
        if (sequence <= _leftoverUntil)
        {
            if (decoded is not OrderRecord order) return false;
            decoded = order with { FromEarlierRun = true };
        }
        item = decoded;
        return true;
    }

    /// <summary>The reader: waits until an item may be there; false once completed and drained.</summary>
    public bool WaitToRead(CancellationToken cancellationToken)
    {
        while (true)
        {
            var committed = Volatile.Read(ref _fileCommitted);
            if (_readingFile ? HasUnreadInFile() : _memory.Reader.Count > 0 || _toFileRoute) return true;
            if (!_readingFile && _memory.Reader.Completion.IsCompleted) return false; // completed, and memory is drained
            if (_readingFile)
            {
                committed.Task.Wait(cancellationToken);
            }
            else
            {
                // One wait on memory at a time: the file's commits wake this too, and each new wait would stay queued.
                var memory = _memoryWait is { IsCompleted: false } pending
                    ? pending
                    : _memoryWait = _memory.Reader.WaitToReadAsync(cancellationToken).AsTask();
                Task.WaitAny([memory, committed.Task], cancellationToken);
            }
            cancellationToken.ThrowIfCancellationRequested();
            if (committed.Task.IsCompleted)
                Interlocked.CompareExchange(ref _fileCommitted, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), committed);
        }
    }

    private bool HasUnreadInFile()
    {
        if (_records is not null) return true;
        lock (_lock) return DurableUnread();
    }

    /// <summary>Under <see cref="_lock"/>: the file has records on disk the reader has not taken.</summary>
    private bool DurableUnread() => _file is not null && _file.DurableSequence > _read;

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
        if (!_readingFile && Volatile.Read(ref _file) is not null) SignalFileThread();
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
                else if (item is OrderRecord or AnsweredOrder) ToFile(item);
            }
        }
    }

    private IEnumerable<object> DrainMemory()
    {
        while (_memory.Reader.TryRead(out var item)) yield return item;
    }

    /// <summary>
    /// Writes what is handed over, in commits of what gathered for <see cref="FileLinger"/> (at
    /// most a hundred fsyncs a second beside the journal's). A failure ends the process: after a
    /// failed write or fsync what reached the disk is unknown (as with the journal), and nothing
    /// else could keep these items.
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
            if (!_disposing && !_toFile.IsEmpty) Thread.Sleep(FileLinger);
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
                taken++;
            }
            if (taken > 0)
            {
                _file!.Commit();
                Interlocked.Add(ref _toFileCount, -taken);
                Volatile.Read(ref _fileCommitted).TrySetResult();
            }
            DeleteIfDone();
            if (_disposing && _toFile.IsEmpty) return;
        }
    }

    private FileJournal OpenNew()
    {
        var file = FileJournal.Open(_directory);
        lock (_lock) _file = file;
        return file;
    }

    /// <summary>Once writers are back in memory and every record of the file is committed, the folder goes.</summary>
    private void DeleteIfDone()
    {
        lock (_lock)
        {
            if (_toFileRoute || _file is null || _readCommitted < _appended || !_toFile.IsEmpty) return;
            _file.Dispose();
            _file = null;
            Directory.Delete(_directory, recursive: true);
        }
        _logger.LogInformation("The event recorder's overflow file is drained; deleted {Directory}", _directory);
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
        _fileWork.Release();
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
