using System.Net.Mail;
using System.Security.Claims;
using Exchange.Data;
using Exchange.Server.Api;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Server.Auth;

/// <summary>/api/v1/auth: sign up, sign in, who am I, sign out.</summary>
public static class AuthApi
{
    public const string RateLimitPolicy = "auth";
    private const int MinPasswordLength = 8;
    private const int MaxPasswordLength = 128;
    private static readonly PasswordHasher<User> Hasher = new();

    // Verifying against a real hash when the email is unknown keeps both answers equally slow.
    private static readonly string DummyHash = Hasher.HashPassword(NoUser, "not-a-real-password");
    private static User NoUser => new() { Email = "", PasswordHash = "" };

    public static IEndpointRouteBuilder MapAuthApi(this IEndpointRouteBuilder app)
    {
        var auth = app.MapGroup("/api/v1/auth").WithTags("Auth");
        auth.MapPost("/signup", SignUpAsync).RequireRateLimiting(RateLimitPolicy)
            .WithSummary("Create a user and sign in").Accepts<Credentials>("application/json")
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        auth.MapPost("/signin", SignInAsync).RequireRateLimiting(RateLimitPolicy)
            .WithSummary("Sign in with email and password").Accepts<Credentials>("application/json")
            .ProducesProblem(StatusCodes.Status429TooManyRequests);
        auth.MapGet("/me", MeAsync).RequireAuthorization().WithSummary("The signed-in user");
        auth.MapGet("/session", SessionAsync).WithSummary("The signed-in user, or null: 200 either way (for pages deciding what to show)");
        auth.MapPost("/signout", SignOutAsync).WithSummary("Sign out: the token sent is refused from now on (cookie or Bearer), and the cookie is deleted");
        return app;
    }

    private static async Task<Results<JsonCreated<AuthResult>, ProblemHttpResult>> SignUpAsync(
        HttpContext http, ExchangeDbContext db, AuthTokens tokens, TimeProvider time, ILoggerFactory loggers)
    {
        var (body, problem) = await ApiProblem.ReadJsonAsync(http.Request, ApiJsonContext.Default.Credentials);
        if (problem is not null) return problem;
        if (ValidateEmail(body!.Email) is { } badEmail) return badEmail;
        if (ValidatePassword(body.Password) is { } badPassword) return badPassword;

        var email = Normalize(body.Email!);
        var user = new User { Id = Guid.NewGuid(), Email = email, PasswordHash = "", CreatedAtMs = time.GetUtcNow().ToUnixTimeMilliseconds() };
        user.PasswordHash = Hasher.HashPassword(user, body.Password!);
        db.Users.Add(user);
        try
        {
            await db.SaveChangesAsync();
        }
        catch (Exception saving) when (saving is DbUpdateException or System.Data.Common.DbException)
        {
            // Taken by an earlier sign-up (maybe a concurrent one); any other failure is not the trader's doing.
            if (await EmailExistsAsync(db, email) is true)
                return ApiProblem.For(StatusCodes.Status409Conflict, "EMAIL_TAKEN", "An account with this email already exists; sign in instead.");
            loggers.CreateLogger(typeof(AuthApi)).LogError(saving, "Sign-up could not save a new user");
            http.Response.Headers.RetryAfter = "1";
            return ApiProblem.For(StatusCodes.Status503ServiceUnavailable, "SIGNUP_UNAVAILABLE",
                "The account could not be saved just now, and nothing was created: try again in a moment.");
        }
        return JsonReply.Created("/api/v1/auth/me", SignIn(http, tokens, user));
    }

    /// <summary>Whether a user has this email; null when the database cannot say.</summary>
    private static async Task<bool?> EmailExistsAsync(ExchangeDbContext db, string email)
    {
        try
        {
            return await db.Users.AsNoTracking().AnyAsync(u => u.Email == email);
        }
        catch (Exception e) when (e is System.Data.Common.DbException or InvalidOperationException)
        {
            return null;
        }
    }

    private static async Task<Results<JsonOk<AuthResult>, ProblemHttpResult>> SignInAsync(HttpContext http, ExchangeDbContext db, AuthTokens tokens)
    {
        var (body, problem) = await ApiProblem.ReadJsonAsync(http.Request, ApiJsonContext.Default.Credentials);
        if (problem is not null) return problem;
        if (string.IsNullOrEmpty(body!.Email) || string.IsNullOrEmpty(body.Password) || body.Password.Length > MaxPasswordLength)
            return InvalidCredentials();
        var email = Normalize(body.Email);
        var user = await db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.Email == email);
        var result = Hasher.VerifyHashedPassword(user ?? NoUser, user?.PasswordHash ?? DummyHash, body.Password);
        if (user is null || result == PasswordVerificationResult.Failed) return InvalidCredentials();
        return JsonReply.Ok(SignIn(http, tokens, user));
    }

    private static async Task<Results<JsonOk<UserView>, ProblemHttpResult>> MeAsync(ClaimsPrincipal principal, ExchangeDbContext db)
    {
        var id = principal.UserId();
        var user = await db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.Id == id);
        return user is null
            ? ApiProblem.For(StatusCodes.Status401Unauthorized, "UNAUTHENTICATED", "This user no longer exists.")
            : JsonReply.Ok(new UserView(user.Id, user.Email, user.CreatedAtMs));
    }

    private static async Task<JsonOk<SessionView>> SessionAsync(ClaimsPrincipal principal, ExchangeDbContext db)
    {
        if (principal.Identity?.IsAuthenticated != true) return JsonReply.Ok(new SessionView(null));
        var id = principal.UserId();
        var user = await db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.Id == id);
        return JsonReply.Ok(new SessionView(user is null ? null : new UserView(user.Id, user.Email, user.CreatedAtMs)));
    }

    private static async Task<NoContent> SignOutAsync(HttpContext http, ClaimsPrincipal principal, SignedOutTokens signedOut)
    {
        if (principal.Identity?.IsAuthenticated == true) await signedOut.SignOutAsync(principal);
        http.Response.Cookies.Delete(AuthTokens.CookieName, AuthTokens.CookieOptions(http.Request, DateTimeOffset.UnixEpoch));
        return TypedResults.NoContent();
    }

    private static AuthResult SignIn(HttpContext http, AuthTokens tokens, User user)
    {
        var (token, expires) = tokens.Issue(user.Id, user.Email);
        http.Response.Cookies.Append(AuthTokens.CookieName, token, AuthTokens.CookieOptions(http.Request, expires));
        return new AuthResult(new UserView(user.Id, user.Email, user.CreatedAtMs), token, expires.ToUnixTimeMilliseconds());
    }

    private static ProblemHttpResult InvalidCredentials() =>
        ApiProblem.For(StatusCodes.Status401Unauthorized, "INVALID_CREDENTIALS", "The email or password is wrong.");

    private static string Normalize(string email) => User.NormalizeEmail(email);

    private static ProblemHttpResult? ValidateEmail(string? email)
    {
        if (string.IsNullOrWhiteSpace(email))
            return ApiProblem.BadRequest("MISSING_FIELD", "The field 'email' is required.");
        var trimmed = email.Trim();
        // MailAddress accepts display names and comments; insist that what it parsed is exactly what was sent.
        if (trimmed.Length > 254 || !MailAddress.TryCreate(trimmed, out var parsed) || parsed.Address != trimmed
            || trimmed.Any(c => char.IsWhiteSpace(c) || c is '<' or '>' or '"' or '\'' or ';' or '(' or ')' or ',')
            || !parsed.Host.Contains('.'))
            return ApiProblem.BadRequest("INVALID_EMAIL", "The email address is not valid.");
        return null;
    }

    private static ProblemHttpResult? ValidatePassword(string? password)
    {
        if (string.IsNullOrEmpty(password))
            return ApiProblem.BadRequest("MISSING_FIELD", "The field 'password' is required.");
        // Characters as a person counts them (Unicode scalar values), not UTF-16 units: four
        // emoji are four characters, not eight.
        var characters = password.EnumerateRunes().Count();
        if (characters < MinPasswordLength)
            return ApiProblem.BadRequest("PASSWORD_TOO_SHORT", $"The password needs at least {MinPasswordLength} characters.");
        if (characters > MaxPasswordLength)
            return ApiProblem.BadRequest("PASSWORD_TOO_LONG", $"The password may have at most {MaxPasswordLength} characters.");
        return null;
    }
}
