using System.Text;
using Exchange.Server.Auth;
using Microsoft.IdentityModel.Tokens;

namespace Exchange.Server.Tests;

public sealed class RememberingTokenHandlerTests
{
    private sealed class SettableTime(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;
        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static readonly SymmetricSecurityKey Key = new(Encoding.UTF8.GetBytes("a-test-secret-that-is-long-enough-for-hs256"));
    private readonly SettableTime _time = new(new DateTimeOffset(2026, 12, 3, 12, 0, 0, TimeSpan.Zero));

    private readonly AuthTokens _tokens;
    private readonly TokenValidationParameters _parameters;

    public RememberingTokenHandlerTests()
    {
        _tokens = new AuthTokens(Key, _time);
        _parameters = _tokens.ValidationParameters();
    }

    [Fact]
    public async Task A_valid_token_is_remembered_and_keeps_being_accepted()
    {
        var handler = new RememberingTokenHandler(_time);
        var (token, _) = _tokens.Issue(Guid.NewGuid(), "a@example.com");

        Assert.True((await handler.ValidateTokenAsync(token, _parameters)).IsValid);
        Assert.Equal(1, handler.Count);
        var again = await handler.ValidateTokenAsync(token, _parameters);
        Assert.True(again.IsValid);
        Assert.Equal("a@example.com", again.ClaimsIdentity.Name);
    }

    [Fact]
    public async Task A_remembered_token_is_refused_once_it_has_expired()
    {
        var handler = new RememberingTokenHandler(_time);
        var (token, expires) = _tokens.Issue(Guid.NewGuid(), "a@example.com");
        Assert.True((await handler.ValidateTokenAsync(token, _parameters)).IsValid);

        _time.Now = expires.AddMinutes(1); // past the expiry and the 30 s clock skew

        Assert.False((await handler.ValidateTokenAsync(token, _parameters)).IsValid);
        Assert.Equal(0, handler.Count);
    }

    [Fact]
    public async Task A_token_signed_with_another_key_is_refused_and_not_remembered()
    {
        var handler = new RememberingTokenHandler(_time);
        var (genuine, _) = _tokens.Issue(Guid.NewGuid(), "a@example.com");
        await handler.ValidateTokenAsync(genuine, _parameters);
        var other = new AuthTokens(new SymmetricSecurityKey(Encoding.UTF8.GetBytes("another-secret-that-is-long-enough-for-hs256")), _time);
        var (forged, _) = other.Issue(Guid.NewGuid(), "b@example.com");

        Assert.False((await handler.ValidateTokenAsync(forged, _parameters)).IsValid);
        Assert.False((await handler.ValidateTokenAsync(forged, _parameters)).IsValid);
        Assert.Equal(1, handler.Count);
    }

    [Fact]
    public async Task It_never_remembers_more_tokens_than_its_capacity()
    {
        var handler = new RememberingTokenHandler(_time, capacity: 2);
        for (var i = 0; i < 5; i++)
        {
            var (token, _) = _tokens.Issue(Guid.NewGuid(), $"t{i}@example.com");
            Assert.True((await handler.ValidateTokenAsync(token, _parameters)).IsValid);
            Assert.InRange(handler.Count, 1, 2);
        }
    }

    [Fact]
    public async Task A_token_is_refused_before_its_not_before_time()
    {
        var handler = new RememberingTokenHandler(_time);
        var (token, _) = _tokens.Issue(Guid.NewGuid(), "a@example.com");
        _time.Now -= TimeSpan.FromMinutes(5);

        Assert.False((await handler.ValidateTokenAsync(token, _parameters)).IsValid);
        Assert.Equal(0, handler.Count);
    }

    [Fact]
    public async Task A_remembered_token_is_validated_in_full_again_under_other_parameters()
    {
        var handler = new RememberingTokenHandler(_time);
        var (token, _) = _tokens.Issue(Guid.NewGuid(), "a@example.com");
        Assert.True((await handler.ValidateTokenAsync(token, _parameters)).IsValid);

        var otherIssuer = _parameters.Clone();
        otherIssuer.ValidIssuer = "someone-else";

        Assert.False((await handler.ValidateTokenAsync(token, otherIssuer)).IsValid);
        Assert.True((await handler.ValidateTokenAsync(token, _parameters.Clone())).IsValid); // a copy, as the bearer handler passes
    }
}
