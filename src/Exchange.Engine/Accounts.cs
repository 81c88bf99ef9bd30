using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace Exchange.Engine;

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
