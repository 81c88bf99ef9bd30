using System.Runtime.CompilerServices;

namespace Exchange.Engine;

/// <summary>
/// Price triggers of one asset and side, ordered so the next one to fire is on top:
/// O(1) to see that a tick fires nothing, O(log n) to add or fire one, O(1) amortized to
/// cancel one. An indexed binary heap over an array: no allocation per trigger, and a trade
/// (known by its slot) can be removed from the middle when it is closed by hand.
/// Ties on price fire the older trade (lower open sequence) first, so the order is total
/// and a replay fires trades in the same order.
/// <para>
/// Removing from the middle only marks the entry as removed; marked entries keep their place
/// (and the heap order) until they reach the top, where they are dropped at once, or until
/// they outnumber the live ones, when the array is compacted and rebuilt in O(n). With a
/// million triggers a sift touches a few cache lines far apart; a manual close no longer pays
/// for one. The top is always a live trigger.
/// </para>
/// </summary>
internal sealed class TriggerHeap
{
    private struct Entry
    {
        public long Price;
        public long OpenSequence;
        public int Slot;
    }

    /// <summary>The slot of an entry that was removed but is still in the array.</summary>
    private const int Removed = -1;

    /// <summary>Below this many removed entries, compacting is not worth it.</summary>
    private const int MinCompaction = 64;

    private readonly bool _highestFirst;
    private readonly TriggerPositions _positions;
    private Entry[] _entries = new Entry[16];
    private int _count;
    private int _removed;
    private bool _bulkLoading;

    /// <param name="highestFirst">true when the trigger fires as the price falls to it (the highest trigger is reached first).</param>
    /// <param name="positions">where this heap keeps each slot's place; heaps that never hold the same slot may share one</param>
    public TriggerHeap(bool highestFirst, TriggerPositions? positions = null)
    {
        _highestFirst = highestFirst;
        _positions = positions ?? new TriggerPositions();
    }

    /// <summary>Live triggers.</summary>
    public int Count => _count - _removed;

    public long TopPrice => _entries[0].Price;
    public int TopSlot => _entries[0].Slot;

    public bool Contains(int slot) => _positions.Holds(slot);

    /// <summary>Room for <paramref name="count"/> triggers without growing (a restore counts them first).</summary>
    public void EnsureCapacity(int count)
    {
        if (count > _entries.Length) Array.Resize(ref _entries, count);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(int slot, long price, long openSequence)
    {
        if (_count == _entries.Length) Array.Resize(ref _entries, _count * 2);
        _positions.EnsureSlot(slot);
        _entries[_count] = new Entry { Price = price, OpenSequence = openSequence, Slot = slot };
        SetPosition(_count);
        var position = _count++;
        if (!_bulkLoading) SiftUp(position);
    }

    public void Remove(int slot)
    {
        var position = _positions[slot] - 1;
        _positions[slot] = 0;
        if (position == 0)
        {
            RemoveTop();
            while (_count > 0 && _entries[0].Slot == Removed)
            {
                _removed--;
                RemoveTop();
            }
        }
        else if (position == _count - 1)
        {
            _count--;
        }
        else
        {
            _entries[position].Slot = Removed;
            if (++_removed >= MinCompaction && _removed * 2 > _count) Compact();
        }
    }

    /// <summary>
    /// From here until <see cref="EndBulkLoad"/> only <see cref="Add"/> may be called, and it
    /// just appends; the end builds the heap bottom-up in O(n). For restoring many triggers.
    /// </summary>
    public void BeginBulkLoad() => _bulkLoading = true;

    public void EndBulkLoad()
    {
        _bulkLoading = false;
        Heapify();
    }

    private void RemoveTop()
    {
        var last = --_count;
        if (last == 0) return;
        _entries[0] = _entries[last];
        SetPosition(0);
        SiftDown(0);
    }

    /// <summary>Drops the removed entries and rebuilds the heap from what is left.</summary>
    private void Compact()
    {
        var kept = 0;
        for (var i = 0; i < _count; i++)
            if (_entries[i].Slot != Removed) _entries[kept++] = _entries[i];
        _count = kept;
        _removed = 0;
        for (var i = 0; i < _count; i++) SetPosition(i);
        Heapify();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Heapify()
    {
        for (var position = _count / 2 - 1; position >= 0; position--) SiftDown(position);
    }

    // Positions are stored +1 so the zeroed array means "absent"; removed entries have none.
    // The sift helpers are inlined so that a restore's Heapify (compiled optimized at once)
    // does not run them as unoptimized calls in a freshly started process.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void SetPosition(int position)
    {
        var slot = _entries[position].Slot;
        if (slot != Removed) _positions[slot] = position + 1;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Before(int a, int b)
    {
        ref var x = ref _entries[a];
        ref var y = ref _entries[b];
        if (x.Price != y.Price) return _highestFirst ? x.Price > y.Price : x.Price < y.Price;
        return x.OpenSequence < y.OpenSequence;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Swap(int a, int b)
    {
        (_entries[a], _entries[b]) = (_entries[b], _entries[a]);
        SetPosition(a);
        SetPosition(b);
    }

    private void SiftUp(int position)
    {
        while (position > 0)
        {
            var parent = (position - 1) / 2;
            if (!Before(position, parent)) return;
            Swap(position, parent);
            position = parent;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void SiftDown(int position)
    {
        while (true)
        {
            var left = position * 2 + 1;
            if (left >= _count) return;
            var best = left + 1 < _count && Before(left + 1, left) ? left + 1 : left;
            if (!Before(best, position)) return;
            Swap(position, best);
            position = best;
        }
    }
}

/// <summary>
/// Each trade slot's place in its trigger heap (+1; 0 is none). A slot sits in at most one
/// stop heap and one take-profit heap, so all stop heaps share one of these and all
/// take-profit heaps another: two arrays as long as the slots instead of one per heap.
/// </summary>
internal sealed class TriggerPositions
{
    private int[] _bySlot = [];

    public ref int this[int slot] => ref _bySlot[slot];

    public bool Holds(int slot) => slot < _bySlot.Length && _bySlot[slot] > 0;

    public void EnsureSlot(int slot)
    {
        if (slot >= _bySlot.Length) Array.Resize(ref _bySlot, Math.Max(slot + 1, _bySlot.Length * 2));
    }
}
