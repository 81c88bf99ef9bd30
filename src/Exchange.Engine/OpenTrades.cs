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
    private readonly Dictionary<Key, int> _slotById = [];

    /// <summary>
    /// A trade id as two longs: UInt128 is 16-byte aligned, which pads each dictionary entry
    /// from 32 to 48 bytes, and every lookup of a trade is a likely cache miss into those entries.
    /// </summary>
    private readonly struct Key(TradeId id) : IEquatable<Key>
    {
        private readonly ulong _lower = (ulong)id.Value;
        private readonly ulong _upper = (ulong)(id.Value >> 64);

        public bool Equals(Key other) => _lower == other._lower && _upper == other._upper;
        public override bool Equals(object? obj) => obj is Key other && Equals(other);

        // Ids end in 64 random bits stamped by the server (sequential in tests): folding spreads either well.
        public override int GetHashCode()
        {
            var x = _lower ^ _upper;
            return (int)x ^ (int)(x >> 32);
        }
    }

    public int Count => _slotById.Count;

    public ref readonly TradeView this[int slot] => ref _trades[slot];

    /// <summary>Where the trade sits in its owner's list, so removal is O(1).</summary>
    public ref int AccountPosition(int slot) => ref _accountPosition[slot];

    public bool TryFind(TradeId id, out int slot) => _slotById.TryGetValue(new Key(id), out slot);

    public bool Contains(TradeId id) => _slotById.ContainsKey(new Key(id));

    /// <summary>Room for <paramref name="count"/> trades without growing (a restore knows how many are coming).</summary>
    public void EnsureCapacity(int count)
    {
        _slotById.EnsureCapacity(count);
        if (_trades.Length >= count) return;
        Array.Resize(ref _trades, count);
        Array.Resize(ref _accountPosition, count);
    }

    /// <summary>
    /// Fills an empty table from an image's slots, skipping empty ones: the n-th trade gets
    /// slot n, so a caller can work out every trade's slot without waiting for this.
    /// Call <see cref="EnsureCapacity"/> first: nothing here may grow an array that another
    /// thread is writing to (<see cref="AccountPosition"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Load(TradeView[] slots, int count)
    {
        if (_highWater != 0 || _trades.Length < count) throw new InvalidOperationException("Load needs an empty table sized for the image.");
        for (var i = 0; i < count; i++)
        {
            ref readonly var trade = ref slots[i];
            if (trade.OpenSequence == 0) continue;
            _trades[_highWater] = trade;
            _slotById.Add(new Key(trade.Id), _highWater++);
        }
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
        _slotById.Add(new Key(trade.Id), slot);
        return slot;
    }

    public void Remove(int slot)
    {
        _slotById.Remove(new Key(_trades[slot].Id));
        _trades[slot] = default;
        if (_freeCount == _freeSlots.Length) Array.Resize(ref _freeSlots, _freeCount * 2);
        _freeSlots[_freeCount++] = slot;
    }

    /// <summary>A copy of the slot array up to the highest slot ever used; empty slots are default.</summary>
    public (TradeView[] Slots, int Count) CopySlots()
    {
        var copy = new TradeView[_highWater];
        Array.Copy(_trades, copy, _highWater);
        return (copy, _highWater);
    }

    /// <summary>All open trades, in no particular order.</summary>
    public IEnumerable<TradeView> All()
    {
        foreach (var slot in _slotById.Values) yield return _trades[slot];
    }
}

/// <summary>A trader's money: free balance, margin locked in open trades, and those trades.</summary>
internal sealed class Account(UserId id, Usd free)
{
    public UserId Id { get; } = id;
    public Usd Free { get; set; } = free;
    public Usd Locked { get; set; }

    /// <summary>Slots of this account's open trades, unordered.</summary>
    public List<int> OpenSlots { get; } = [];
}
