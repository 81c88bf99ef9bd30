using System.Runtime.CompilerServices;

namespace Exchange.Engine;

/// <summary>
/// Every open trade, stored in a reusable array of slots. Slots let the trigger heaps and
/// accounts refer to a trade by an int, and let a snapshot copy all trades in one pass.
/// </summary>
internal sealed class OpenTrades
{
    private TradeView[] _trades = new TradeView[1024];
    private int[] _accountPosition = new int[1024];
    private int[] _freeSlots = new int[64];
    private int _freeCount;
    private int _highWater;
    private readonly IdIndex _slotById = new();

    public int Count => _slotById.Count;

    public ref readonly TradeView this[int slot] => ref _trades[slot];

    /// <summary>Where the trade sits in its owner's list, so removal is O(1).</summary>
    public ref int AccountPosition(int slot) => ref _accountPosition[slot];

    public bool TryFind(TradeId id, out int slot) => _slotById.TryGetValue(id.Value, out slot);

    public bool Contains(TradeId id) => _slotById.ContainsKey(id.Value);

    /// <summary>
    /// Takes <paramref name="slots"/> over as the table's storage, with its trades moved to the
    /// front (the n-th trade gets slot n, so a caller can work out every trade's slot without
    /// waiting for the id index), and returns how many there are. A restore that copied a
    /// million trades into fresh memory would pay for the copy and for faulting the memory in.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int Adopt(TradeView[] slots, int slotCount)
    {
        if (_highWater != 0) throw new InvalidOperationException("Only an empty table can take over slots.");
        var count = 0;
        for (var i = 0; i < slotCount; i++)
        {
            if (slots[i].OpenSequence == 0) continue;
            if (count != i) slots[count] = slots[i];
            count++;
        }
        Array.Clear(slots, count, slotCount - count);
        _trades = slots;
        _highWater = count;
        _accountPosition = new int[Math.Max(slots.Length, 1024)];
        return count;
    }

    /// <summary>Builds the id index of adopted trades (may run beside work that reads the slots).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void IndexAdopted()
    {
        _slotById.EnsureCapacity(_trades.Length);
        for (var slot = 0; slot < _highWater; slot++) _slotById.Add(_trades[slot].Id.Value, slot);
    }

    public int Add(in TradeView trade)
    {
        int slot;
        if (_freeCount > 0) slot = _freeSlots[--_freeCount];
        else
        {
            slot = _highWater++;
            if (slot == _trades.Length)
            {
                Array.Resize(ref _trades, slot * 2);
                Array.Resize(ref _accountPosition, slot * 2);
            }
        }
        _trades[slot] = trade;
        _slotById.Add(trade.Id.Value, slot);
        return slot;
    }

    public void Remove(int slot)
    {
        _slotById.Remove(_trades[slot].Id.Value);
        _trades[slot] = default;
        if (_freeCount == _freeSlots.Length) Array.Resize(ref _freeSlots, _freeCount * 2);
        _freeSlots[_freeCount++] = slot;
    }

    /// <summary>
    /// A copy of the slot array up to the highest slot ever used (empty slots are default),
    /// into <paramref name="buffer"/> when it is long enough, else into a new array.
    /// </summary>
    public (TradeView[] Slots, int Count) CopySlots(TradeView[]? buffer)
    {
        var copy = buffer is not null && buffer.Length >= _highWater ? buffer : new TradeView[_highWater];
        Array.Copy(_trades, copy, _highWater);
        return (copy, _highWater);
    }

    /// <summary>All open trades, in no particular order.</summary>
    public IEnumerable<TradeView> All()
    {
        for (var slot = 0; slot < _highWater; slot++)
            if (_trades[slot].OpenSequence != 0) yield return _trades[slot];
    }
}
