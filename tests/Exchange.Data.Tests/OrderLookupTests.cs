using System.Data.Common;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Data.Tests;

/// <summary>How the recorder's look-ups reach the rows: through an index, not a read of the whole table.</summary>
public sealed class OrderLookupTests
{
    [Fact]
    public async Task Idempotency_keys_are_looked_up_through_the_traders_index_not_by_reading_every_order()
    {
        await using var test = await TestDatabase.CreateAsync();
        await using var db = test.Context();

        var plan = await QueryPlanAsync(EventRecorder.KeysTaken(db, [Guid.NewGuid(), Guid.NewGuid()], ["key-1", "key-2"]).CreateDbCommand());

        Assert.Contains(plan, step => step.Contains("SEARCH o USING", StringComparison.Ordinal) && step.Contains("(UserId=? AND IdempotencyKey=?)", StringComparison.Ordinal));
        Assert.DoesNotContain(plan, step => step.StartsWith("SCAN o", StringComparison.Ordinal));
    }

    /// <summary>SQLite's EXPLAIN QUERY PLAN of a command, one step per line ("SEARCH ...", "SCAN ...").</summary>
    private static async Task<List<string>> QueryPlanAsync(DbCommand command)
    {
        await using (command)
        {
            command.CommandText = "EXPLAIN QUERY PLAN " + command.CommandText;
            await command.Connection!.OpenAsync();
            await using var reader = await command.ExecuteReaderAsync();
            var steps = new List<string>();
            while (await reader.ReadAsync()) steps.Add(reader.GetString(3));
            return steps;
        }
    }
}
