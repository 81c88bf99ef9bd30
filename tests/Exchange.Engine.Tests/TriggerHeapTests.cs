namespace Exchange.Engine.Tests;

/// <summary>
/// <see cref="TriggerHeap"/> against a sorted-set model: random adds (slots reused as the
/// engine reuses them), cancels from the middle (enough to force compactions), fires from the
/// top and bulk loads; after every step the top, count and membership must match.
/// </summary>
public sealed class TriggerHeapTests
{
    [Theory]
    [InlineData(1, true)]
    [InlineData(2, false)]
    [InlineData(3, true)]
    [InlineData(4, false)]
    [InlineData(5, true)]
    public void Matches_a_sorted_model_under_random_operations(int seed, bool highestFirst)
    {
        var random = new Random(seed);
        var heap = new TriggerHeap(highestFirst);
        var order = Comparer<(long Price, long Sequence, int Slot)>.Create((a, b) =>
            a.Price != b.Price ? (highestFirst ? b.Price.CompareTo(a.Price) : a.Price.CompareTo(b.Price)) : a.Sequence.CompareTo(b.Sequence));
        var model = new SortedSet<(long Price, long Sequence, int Slot)>(order);
        var bySlot = new Dictionary<int, (long, long, int)>();
        var freeSlots = new Stack<int>();
        var nextSlot = 0;
        long sequence = 0;

        void Add()
        {
            var slot = freeSlots.Count > 0 && random.Next(2) == 0 ? freeSlots.Pop() : nextSlot++;
            var entry = (Price: (long)random.Next(1, 200), Sequence: ++sequence, Slot: slot);
            heap.Add(slot, entry.Price, entry.Sequence);
            model.Add(entry);
            bySlot[slot] = entry;
        }

        void Remove(int slot)
        {
            heap.Remove(slot);
            Assert.True(model.Remove(bySlot[slot]));
            bySlot.Remove(slot);
            freeSlots.Push(slot);
        }

        // Sometimes start from a bulk load, as a restore does.
        if (seed % 2 == 1)
        {
            heap.BeginBulkLoad();
            for (var i = 0; i < 500; i++) Add();
            heap.EndBulkLoad();
        }

        for (var step = 0; step < 40_000; step++)
        {
            var roll = random.Next(10);
            // Phases that mostly grow and mostly shrink, so compaction happens at many sizes.
            var growing = step / 5_000 % 2 == 0;
            if (model.Count == 0 || roll < (growing ? 6 : 2)) Add();
            else if (roll < 8)
            {
                var slots = bySlot.Keys.ToArray();
                Remove(slots[random.Next(slots.Length)]);
            }
            else
            {
                Remove(heap.TopSlot);
            }

            Assert.Equal(model.Count, heap.Count);
            if (model.Count > 0)
            {
                Assert.Equal(model.Min.Slot, heap.TopSlot);
                Assert.Equal(model.Min.Price, heap.TopPrice);
            }
            if (step % 1_000 == 0)
                for (var slot = 0; slot < nextSlot; slot++) Assert.Equal(bySlot.ContainsKey(slot), heap.Contains(slot));
        }

        // Firing everything comes out in the model's order.
        while (model.Count > 0)
        {
            Assert.Equal(model.Min.Slot, heap.TopSlot);
            Remove(heap.TopSlot);
        }
        Assert.Equal(0, heap.Count);
    }
}
