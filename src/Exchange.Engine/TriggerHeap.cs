namespace Exchange.Engine;

/// <summary>
/// Price triggers of one asset and side, ordered so the next one to fire is on top:
/// O(1) to see that a tick fires nothing, O(log n) to add, fire or cancel one.
/// An indexed binary heap over an array: no allocation per trigger, and a trade
/// (known by its slot) can be removed from the middle when it is closed by hand.
/// Ties on price fire the older trade (lower open sequence) first, so the order is total
/// and a replay fires trades in the same order.
/// </summary>
internal sealed class TriggerHeap
{
    private struct Entry
    {
        public long Price;
        public long OpenSequence;
        public int Slot;
    }

    private readonly bool _highestFirst;
    private Entry[] _entries = new Entry[16];
    private int[] _positionBySlot = [];
    private int _count;

    /// <param name="highestFirst">true when the trigger fires as the price falls to it (the highest trigger is reached first).</param>
    public TriggerHeap(bool highestFirst) => _highestFirst = highestFirst;

    public int Count => _count;

    public long TopPrice => _entries[0].Price;
    public int TopSlot => _entries[0].Slot;

    public bool Contains(int slot) => slot < _positionBySlot.Length && _positionBySlot[slot] > 0;

    public void Add(int slot, long price, long openSequence)
    {
        if (_count == _entries.Length) Array.Resize(ref _entries, _count * 2);
        if (slot >= _positionBySlot.Length)
            Array.Resize(ref _positionBySlot, Math.Max(slot + 1, _positionBySlot.Length * 2));
        _entries[_count] = new Entry { Price = price, OpenSequence = openSequence, Slot = slot };
        SetPosition(_count);
        SiftUp(_count++);
    }

    public void Remove(int slot)
    {
        var position = _positionBySlot[slot] - 1;
        _positionBySlot[slot] = 0;
        var last = --_count;
        if (position == last) return;
        _entries[position] = _entries[last];
        SetPosition(position);
        if (position > 0 && Before(position, (position - 1) / 2)) SiftUp(position);
        else SiftDown(position);
    }

    // Positions are stored +1 so the zeroed array means "absent".
    private void SetPosition(int position) => _positionBySlot[_entries[position].Slot] = position + 1;

    private bool Before(int a, int b)
    {
        ref var x = ref _entries[a];
        ref var y = ref _entries[b];
        if (x.Price != y.Price) return _highestFirst ? x.Price > y.Price : x.Price < y.Price;
        return x.OpenSequence < y.OpenSequence;
    }

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
