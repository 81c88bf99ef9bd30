using System.Collections.Concurrent;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Exchange.Server.Auth;

/// <summary>
/// Validates each JWT once and remembers the result until the token expires. A trader sends
/// the same token with every request, and a full validation (base64, JSON, HMAC, claims) was
/// about a tenth of the server's CPU per command under load. Only valid tokens are remembered,
/// keyed by the whole token text, and never past their own expiry, so a token is accepted
/// exactly as long as a fresh validation would accept it (the tokens are stateless: sign-out
/// forgets the cookie, nothing revokes a token). A restart with another secret starts empty.
/// <para>
/// A result is remembered for the key, issuer and audience it was validated against, and only
/// reused for those: validation with other parameters always runs in full. Requests that send
/// the same token share one <see cref="System.Security.Claims.ClaimsIdentity"/>; nothing in this
/// server adds claims to an identity (no claims transformation), which is what makes that safe.
/// </para>
/// </summary>
internal sealed class RememberingTokenHandler(TimeProvider time, int capacity = RememberingTokenHandler.DefaultCapacity) : JsonWebTokenHandler
{
    public const int DefaultCapacity = 50_000;

    private readonly ConcurrentDictionary<string, (TokenValidationResult Result, TokenValidationParameters For)> _valid =
        new(StringComparer.Ordinal);

    public int Count => _valid.Count;

    public override async Task<TokenValidationResult> ValidateTokenAsync(string token, TokenValidationParameters validationParameters)
    {
        if (_valid.TryGetValue(token, out var entry) && SameChecks(entry.For, validationParameters))
        {
            var remembered = entry.Result;
            if (time.GetUtcNow().UtcDateTime < remembered.SecurityToken.ValidTo) return remembered;
            _valid.TryRemove(token, out _);
        }
        var result = await base.ValidateTokenAsync(token, validationParameters).ConfigureAwait(false);
        if (result.IsValid && result.SecurityToken.ValidTo > time.GetUtcNow().UtcDateTime)
        {
            // More distinct tokens than traders online at once: start over rather than track age.
            if (_valid.Count >= capacity) _valid.Clear();
            _ = result.ClaimsIdentity; // built lazily: build it once here, not on every request that shares it
            _valid[token] = (result, validationParameters);
        }
        return result;
    }

    // The bearer handler passes a fresh copy of its parameters with each request, so compare what
    // decides validity: the signing key (the same object in every copy), issuer and audience.
    private static bool SameChecks(TokenValidationParameters validated, TokenValidationParameters now) =>
        ReferenceEquals(validated.IssuerSigningKey, now.IssuerSigningKey) &&
        validated.ValidIssuer == now.ValidIssuer && validated.ValidAudience == now.ValidAudience &&
        ReferenceEquals(validated.LifetimeValidator, now.LifetimeValidator);
}
