using Microsoft.EntityFrameworkCore;

namespace Exchange.Data.Tests;

public sealed class ConstraintTests : IAsyncLifetime
{
    private TestDatabase _test = null!;

    public async Task InitializeAsync() => _test = await TestDatabase.CreateAsync();

    public async Task DisposeAsync() => await _test.DisposeAsync();

    private static User NewUser(string email) =>
        new() { Id = Guid.NewGuid(), Email = email, PasswordHash = "hash", CreatedAtMs = 1_700_000_000_000 };

    private static Order NewOrder(Guid user, string? key) => new()
    {
        OrderId = Guid.NewGuid(), UserId = user, Command = "CREATE_TRADE", PayloadJson = "{}", Status = OrderStatus.Success,
        Code = "OK", CreatedAtMs = 1_700_000_000_000, IdempotencyKey = key,
    };

    [Fact]
    public async Task Emails_are_stored_lower_case_and_found_whatever_the_case()
    {
        await using (var db = _test.Context())
        {
            db.Users.Add(NewUser("Trader.One@Example.COM"));
            await db.SaveChangesAsync();
        }
        await using (var db = _test.Context())
        {
            var stored = await db.Users.Select(u => u.Email).SingleAsync();
            Assert.Equal("trader.one@example.com", stored);
            Assert.NotNull(await db.Users.SingleOrDefaultAsync(u => u.Email == "TRADER.ONE@example.com"));
        }
    }

    [Fact]
    public async Task A_second_user_with_the_same_email_in_another_case_is_rejected()
    {
        await using (var db = _test.Context())
        {
            db.Users.Add(NewUser("trader@example.com"));
            await db.SaveChangesAsync();
        }
        await using (var db = _test.Context())
        {
            db.Users.Add(NewUser("Trader@Example.com"));
            await Assert.ThrowsAsync<DbUpdateException>(() => db.SaveChangesAsync());
        }
        await using (var db = _test.Context())
            Assert.Equal(1, await db.Users.CountAsync());
    }

    [Fact]
    public async Task An_idempotency_key_is_unique_per_user_and_null_keys_repeat()
    {
        var alice = Guid.NewGuid();
        var bob = Guid.NewGuid();
        await using (var db = _test.Context())
        {
            db.Orders.AddRange(NewOrder(alice, "key-1"), NewOrder(bob, "key-1"), NewOrder(alice, null), NewOrder(alice, null));
            await db.SaveChangesAsync();
        }
        await using (var db = _test.Context())
        {
            db.Orders.Add(NewOrder(alice, "key-1"));
            await Assert.ThrowsAsync<DbUpdateException>(() => db.SaveChangesAsync());
        }
        await using (var db = _test.Context())
        {
            Assert.Equal(4, await db.Orders.CountAsync());
            Assert.Single(await db.Orders.Where(o => o.UserId == alice && o.IdempotencyKey == "key-1").ToListAsync());
        }
    }
}
