using System.Runtime.CompilerServices;

namespace Exchange.Engine;

/// <summary>
/// A hash table from a 128-bit id (trade or user) to an int (a trade's slot, an account's
/// index), with open addressing and linear probing: key and value sit in one 24-byte entry, so
/// a lookup in a table of a million ids is usually one cache miss
/// (<see cref="Dictionary{TKey,TValue}"/> takes two: bucket, then entry).
/// Removal shifts the following entries back instead of leaving tombstones, so lookups never
/// slow down with churn. The table is at most 70 % full.
/// </summary>
internal sealed class IdIndex
{
    private struct Entry
    {
        public ulong Lower;
        public ulong Upper;
        public int Value;
        public bool Used;
    }

    private Entry[] _entries;
    private int _mask;
    private int _shift;
    private int _count;

    public IdIndex(int capacity = 0)
    {
        _entries = [];
        Resize(capacity);
    }

    public int Count => _count;

    /// <summary>Room for <paramref name="capacity"/> ids without growing.</summary>
    public void EnsureCapacity(int capacity)
    {
        if (capacity > MaxCount(_entries.Length)) Resize(capacity);
    }

    // Inlined into the engine's handlers and the restore loops: those are compiled optimized at
    // once, where a call would run this through unoptimized code for a fresh process's first
    // hundred milliseconds, a million lookups at recovery.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryGetValue(UInt128 id, out int value)
    {
        var (lower, upper) = ((ulong)id, (ulong)(id >> 64));
        var entries = _entries;
        var i = Home(lower, upper);
        while (true)
        {
            ref var entry = ref entries[i];
            if (!entry.Used) break;
            if (entry.Lower == lower && entry.Upper == upper)
            {
                value = entry.Value;
                return true;
            }
            i = (i + 1) & _mask;
        }
        value = 0;
        return false;
    }

    public bool ContainsKey(UInt128 id) => TryGetValue(id, out _);

    public int this[UInt128 id]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => TryGetValue(id, out var value) ? value : throw new KeyNotFoundException($"No entry for id {id:x32}.");
    }

    /// <summary>Adds an id that is not in the table (the caller checked; a duplicate throws).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(UInt128 id, int value)
    {
        if (_count >= MaxCount(_entries.Length)) Resize(_count + 1);
        Insert((ulong)id, (ulong)(id >> 64), value);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Insert(ulong lower, ulong upper, int value)
    {
        var entries = _entries;
        var i = Home(lower, upper);
        while (entries[i].Used)
        {
            if (entries[i].Lower == lower && entries[i].Upper == upper) ThrowDuplicate();
            i = (i + 1) & _mask;
        }
        entries[i] = new Entry { Lower = lower, Upper = upper, Value = value, Used = true };
        _count++;
    }

    private static void ThrowDuplicate() => throw new ArgumentException("The id is already in the table.");

    public bool Remove(UInt128 id)
    {
        var (lower, upper) = ((ulong)id, (ulong)(id >> 64));
        var entries = _entries;
        var hole = Home(lower, upper);
        while (true)
        {
            ref var entry = ref entries[hole];
            if (!entry.Used) return false;
            if (entry.Lower == lower && entry.Upper == upper) break;
            hole = (hole + 1) & _mask;
        }
        // Backward shift: move each later entry of the run into the hole unless its home lies
        // cyclically after the hole (then it is already as close to home as it can be).
        var next = hole;
        while (true)
        {
            next = (next + 1) & _mask;
            ref var entry = ref entries[next];
            if (!entry.Used) break;
            var home = Home(entry.Lower, entry.Upper);
            if (((next - home) & _mask) >= ((next - hole) & _mask))
            {
                entries[hole] = entry;
                hole = next;
            }
        }
        entries[hole] = default;
        _count--;
        return true;
    }

    public IEnumerable<int> Values()
    {
        var entries = _entries;
        for (var i = 0; i < entries.Length; i++)
            if (entries[i].Used) yield return entries[i].Value;
    }

    // Fibonacci hashing of the folded id: trade ids end in random bits, user ids are random
    // guids, and test ids are sequential; the multiply spreads all of them over the top bits.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Home(ulong lower, ulong upper) => (int)(((lower ^ upper) * 0x9E3779B97F4A7C15UL) >> _shift);

    private static int MaxCount(int size) => (int)(size * 7L / 10);

    private const int MaxSize = 1 << 30;

    private void Resize(int capacity)
    {
        if (capacity > MaxCount(MaxSize)) throw new InvalidOperationException($"An id index holds at most {MaxCount(MaxSize):N0} ids.");
        var size = 16;
        while (MaxCount(size) < capacity) size *= 2;
        var old = _entries;
        _entries = new Entry[size];
        _mask = size - 1;
        _shift = 64 - System.Numerics.BitOperations.Log2((uint)size);
        _count = 0;
        foreach (ref readonly var entry in old.AsSpan())
            if (entry.Used) Insert(entry.Lower, entry.Upper, entry.Value);
    }
}
