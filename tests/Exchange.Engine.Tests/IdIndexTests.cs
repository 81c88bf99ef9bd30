using CsCheck;

namespace Exchange.Engine.Tests;

/// <summary>
/// <see cref="IdIndex"/> against <see cref="Dictionary{TKey,TValue}"/>: random adds,
/// removals and lookups over a small key space, so runs of colliding entries form, grow past
/// the table's size and are cut in the middle (where removal shifts entries back).
/// </summary>
public sealed class IdIndexTests
{
    private enum Step : byte { Add, Remove, Find }

    // Ids that fold to the same home: lower ^ upper is all a table hashes, so (k, 0) and
    // (k ^ m, m) collide for every m. Sequential ids are what tests and restores produce.
    private static UInt128 Id(int key, int variant) => new((ulong)variant, (ulong)key ^ (ulong)variant);

    private static readonly Gen<(Step Step, int Key, int Variant)[]> Scripts =
        Gen.Select(Gen.Enum<Step>(), Gen.Int[0, 300], Gen.Int[0, 3]).Array[0, 3_000];

    [Fact]
    public void Agrees_with_a_dictionary_under_random_adds_removes_and_lookups() =>
        Scripts.Sample(script =>
        {
            var table = new IdIndex();
            var model = new Dictionary<UInt128, int>();
            var n = 0;
            foreach (var (step, key, variant) in script)
            {
                var id = Id(key, variant);
                switch (step)
                {
                    case Step.Add when !model.ContainsKey(id):
                        table.Add(id, ++n);
                        model.Add(id, n);
                        break;
                    case Step.Remove:
                        Assert.Equal(model.Remove(id), table.Remove(id));
                        break;
                    default:
                        Assert.Equal(model.TryGetValue(id, out var expected), table.TryGetValue(id, out var found));
                        Assert.Equal(expected, found);
                        break;
                }
                Assert.Equal(model.Count, table.Count);
            }
            // Every id still in the model is found, and nothing else is.
            foreach (var (id, value) in model) Assert.Equal(value, table[id]);
            Assert.Equal(model.Values.Order(), table.Values().Order());
        }, iter: 200);

    [Fact]
    public void Adding_an_id_twice_throws_and_keeps_the_first()
    {
        var table = new IdIndex();
        table.Add(7, 1);
        Assert.Throws<ArgumentException>(() => table.Add(7, 2));
        Assert.Equal(1, table[7]);
        Assert.Equal(1, table.Count);
    }

    [Fact]
    public void A_missing_id_is_not_found_and_the_indexer_says_which()
    {
        var table = new IdIndex(capacity: 100);
        Assert.False(table.TryGetValue(42, out _));
        Assert.False(table.Remove(42));
        var e = Assert.Throws<KeyNotFoundException>(() => table[42]);
        Assert.Contains("2a", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_million_sequential_ids_are_all_found_after_growing_from_empty()
    {
        var table = new IdIndex();
        for (var i = 1; i <= 1_000_000; i++) table.Add((UInt128)i, i);
        for (var i = 1; i <= 1_000_000; i += 997) Assert.Equal(i, table[(UInt128)i]);
        Assert.Equal(1_000_000, table.Count);
    }

    [Fact]
    public void Asking_for_more_room_than_an_index_can_have_throws_instead_of_hanging()
    {
        var table = new IdIndex();
        Assert.Throws<InvalidOperationException>(() => table.EnsureCapacity(int.MaxValue));
    }
}
