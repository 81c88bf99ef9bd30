using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Exchange.Server.Auth;

/// <summary>Issues and describes the HS256 JWTs that sign traders in (cookie <c>authToken</c> or Bearer).</summary>
public sealed class AuthTokens(SymmetricSecurityKey key, TimeProvider time)
{
    public const string CookieName = "authToken";
    public const string Issuer = "exchange";
    public const string Audience = "exchange";
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(12);
    public const string TokenIdClaim = "jti";

    /// <summary>When a validated token expires (its <c>exp</c>), in Unix milliseconds; null without one.</summary>
    public static long? ExpiresAtMs(ClaimsPrincipal principal) =>
        long.TryParse(principal.FindFirstValue("exp"), out var seconds) ? seconds * 1000 : null;

    public (string Token, DateTimeOffset ExpiresAt) Issue(Guid userId, string email)
    {
        var now = time.GetUtcNow();
        var expires = now + Lifetime;
        var token = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = Audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = expires.UtcDateTime,
            // jti: what signing out names, so that this token, and only this one, is refused after it.
            Subject = new ClaimsIdentity([new Claim("sub", userId.ToString()), new Claim("email", email),
                new Claim(TokenIdClaim, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)))]),
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.HmacSha256),
        });
        return (token, expires);
    }

    public TokenValidationParameters ValidationParameters() => new()
    {
        ValidIssuer = Issuer,
        ValidAudience = Audience,
        IssuerSigningKey = key,
        ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
        RequireSignedTokens = true,
        RequireExpirationTime = true,
        ClockSkew = TimeSpan.FromSeconds(30),
        NameClaimType = "email",
        // The library's own check reads the system clock; this one reads the app's, like
        // RememberingTokenHandler, so both agree on when a token has expired.
        LifetimeValidator = (notBefore, expires, _, parameters) =>
        {
            var now = time.GetUtcNow().UtcDateTime;
            return expires is { } until && now <= until + parameters.ClockSkew &&
                   (notBefore is not { } from || now >= from - parameters.ClockSkew);
        },
    };

    public static CookieOptions CookieOptions(HttpRequest request, DateTimeOffset expires) => new()
    {
        HttpOnly = true,
        SameSite = SameSiteMode.Strict,
        Secure = request.IsHttps,
        Path = "/",
        Expires = expires,
    };

    /// <summary>
    /// The signing key: AUTH_JWT_SECRET (at least 32 bytes) when set; in Development a random
    /// secret is made once and kept in the data folder, so sign-ins survive restarts.
    /// </summary>
    public static SymmetricSecurityKey LoadKey(string? configured, bool isDevelopment, string dataDirectory)
    {
        if (!string.IsNullOrEmpty(configured))
        {
            var bytes = System.Text.Encoding.UTF8.GetBytes(configured);
            if (bytes.Length < 32)
                throw new InvalidConfigurationException("AUTH_JWT_SECRET is too short: use at least 32 bytes (e.g. `openssl rand -base64 48`).");
            return new SymmetricSecurityKey(bytes);
        }
        if (!isDevelopment)
            throw new InvalidConfigurationException("AUTH_JWT_SECRET is required outside Development (at least 32 bytes).");
        var path = Path.Combine(dataDirectory, "jwt-secret");
        try
        {
            if (!File.Exists(path)) WriteSecret(path);
            var key = File.ReadAllBytes(path);
            if (key.Length < 32)
                throw new InvalidConfigurationException($"{path} holds {key.Length} bytes, under the 32 a signing key needs: delete it (everyone signs in again) or set AUTH_JWT_SECRET.");
            return new SymmetricSecurityKey(key);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidConfigurationException($"Cannot keep the development JWT secret in {path}: {e.Message}");
        }
    }

    /// <summary>Readable by the owner only from the moment it exists, and whole or absent: written aside, then renamed into place.</summary>
    private static void WriteSecret(string path)
    {
        var aside = path + ".new";
        File.Delete(aside); // left by a crash: it may have other permissions, which a create would keep
        // CreateNew: a file (or a link) that appears there after the delete is refused, not followed.
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Options = FileOptions.WriteThrough };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var file = new FileStream(aside, options)) file.Write(RandomNumberGenerator.GetBytes(64));
        File.Move(aside, path, overwrite: false);
    }
}
