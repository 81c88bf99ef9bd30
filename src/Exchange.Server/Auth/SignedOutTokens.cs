using System.Collections.Concurrent;
using System.Security.Claims;
using Exchange.Data;
using Exchange.Server.Api;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Server.Auth;

/// <summary>
/// Sign-out that means it: the token signed out of (its <c>jti</c>) is refused until it would
/// have expired anyway, on every request and by the push stream, also after a restart. The
/// database keeps the list (written before sign-out answers); this process checks a copy in
/// memory, which start-up loads, so a request pays one dictionary look-up.
/// </summary>
public sealed class SignedOutTokens(IDbContextFactory<ExchangeDbContext> databases, TimeProvider time, ILogger<SignedOutTokens> logger)
    : IHostedService
{
    private readonly ConcurrentDictionary<string, long> _expiresAtMs = new(StringComparer.Ordinal);

    public int Count => _expiresAtMs.Count;

    /// <summary>Loads the list, and deletes the rows no token can match any more; runs after the database is migrated.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var expired = await db.SignedOutTokens.Where(t => t.ExpiresAtMs <= now).ExecuteDeleteAsync(cancellationToken);
        foreach (var token in await db.SignedOutTokens.AsNoTracking().ToListAsync(cancellationToken))
            _expiresAtMs[token.TokenId] = token.ExpiresAtMs;
        if (expired > 0 || !_expiresAtMs.IsEmpty)
            logger.LogInformation("Sign-outs: {Live} tokens refused until they expire ({Expired} expired ones deleted)", _expiresAtMs.Count, expired);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public bool IsSignedOut(ClaimsPrincipal principal) =>
        principal.FindFirstValue(AuthTokens.TokenIdClaim) is { } id && IsSignedOut(id);

    public bool IsSignedOut(string tokenId) => _expiresAtMs.ContainsKey(tokenId);

    /// <summary>Refuses the principal's token from now on; a token without an id (issued before ids were) cannot be named and just expires.</summary>
    public async Task SignOutAsync(ClaimsPrincipal principal)
    {
        if (principal.FindFirstValue(AuthTokens.TokenIdClaim) is not { } id || _expiresAtMs.ContainsKey(id)) return;
        var expiresAtMs = AuthTokens.ExpiresAtMs(principal) ?? time.GetUtcNow().Add(AuthTokens.Lifetime).ToUnixTimeMilliseconds();
        await using var db = await databases.CreateDbContextAsync();
        db.SignedOutTokens.Add(new SignedOutToken { TokenId = id, UserId = principal.UserId(), ExpiresAtMs = expiresAtMs });
        try
        {
            await db.SaveChangesAsync();
        }
        catch (DbUpdateException)
        {
            // Signed out twice at once, or by another server sharing the database: already refused.
            // Anything else (the database away) fails the sign-out, which the client may retry.
            await using var again = await databases.CreateDbContextAsync();
            if (!await again.SignedOutTokens.AnyAsync(t => t.TokenId == id)) throw;
        }
        _expiresAtMs[id] = expiresAtMs;
        if (_expiresAtMs.Count % 1024 == 0) Forget(time.GetUtcNow().ToUnixTimeMilliseconds());
    }

    /// <summary>Expired tokens are refused by their own expiry: no need to remember them.</summary>
    private void Forget(long nowMs)
    {
        foreach (var (id, expiresAtMs) in _expiresAtMs)
            if (expiresAtMs <= nowMs) _expiresAtMs.TryRemove(id, out _);
    }
}
