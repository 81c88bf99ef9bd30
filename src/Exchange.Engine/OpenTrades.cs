using System.Diagnostics.CodeAnalysis;
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

/// <summary>
/// Every account, by user id. Accounts are never removed, so they sit in a list in the order
/// they were created and the id index maps to a position in it.
/// </summary>
internal sealed class Accounts
{
    private readonly IdIndex _indexById = new();
    private readonly List<Account> _all = [];

    public int Count => _all.Count;

    public IReadOnlyList<Account> All => _all;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryFind(UserId user, [NotNullWhen(true)] out Account? account)
    {
        if (_indexById.TryGetValue(user.Bits, out var index))
        {
            account = _all[index];
            return true;
        }
        account = null;
        return false;
    }

    public Account this[UserId user]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _all[_indexById[user.Bits]];
    }

    public bool Contains(UserId user) => _indexById.ContainsKey(user.Bits);

    public void EnsureCapacity(int count)
    {
        _indexById.EnsureCapacity(count);
        _all.EnsureCapacity(count);
    }

    /// <summary>Adds an account whose user has none yet (a duplicate throws).</summary>
    public void Add(Account account)
    {
        _indexById.Add(account.Id.Bits, _all.Count);
        _all.Add(account);
    }
}

/// <summary>A trader's money: free balance, margin locked in open trades, and those trades.</summary>
internal sealed class Account(UserId id, Usd free)
{
    public UserId Id { get; } = id;
    public Usd Free { get; set; } = free;
    public Usd Locked { get; set; }

    // The account's own array rather than a List: one object fewer to reach per trade opened,
    // closed or restored, each a likely cache miss with many accounts.
    private int[] _openSlots = [];
    private int _openCount;

    /// <summary>Slots of this account's open trades, unordered.</summary>
    public ReadOnlySpan<int> OpenSlots => _openSlots.AsSpan(0, _openCount);

    /// <summary>Adds a trade's slot and returns its position in <see cref="OpenSlots"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int AddOpenSlot(int slot)
    {
        if (_openCount == _openSlots.Length) Array.Resize(ref _openSlots, Math.Max(4, _openCount * 2));
        _openSlots[_openCount] = slot;
        return _openCount++;
    }

    /// <summary>
    /// Removes the slot at <paramref name="position"/> by moving the last one into its place;
    /// returns the slot that moved (the removed one itself if it was last).
    /// </summary>
    public int RemoveOpenSlotAt(int position)
    {
        var last = _openSlots[--_openCount];
        _openSlots[position] = last;
        return last;
    }
}
