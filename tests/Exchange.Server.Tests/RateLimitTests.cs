using System.Net;
using System.Net.Http.Json;
using Exchange.Data;
using Microsoft.AspNetCore.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Exchange.Server.Tests;

public sealed class RateLimitTests
{
    [Fact]
    public async Task Sign_in_attempts_beyond_the_limit_get_429_with_retry_after()
    {
        await using var app = new ExchangeApp();
        using var strict = app.WithWebHostBuilder(b => b.UseSetting("AUTH_RATE_LIMIT_PER_MINUTE", "3"));
        var client = strict.CreateClient();
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 5; i++)
        {
            var response = await client.PostAsJsonAsync("/api/v1/auth/signin", new { email = "nobody@example.com", password = "wrong password" });
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                Assert.Equal("RATE_LIMITED", (await response.ProblemAsync())["code"]!.GetValue<string>());
                Assert.True(response.Headers.Contains("Retry-After"));
            }
        }
        Assert.Equal([HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized,
            HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], statuses);
        // Trading endpoints are not behind the auth limiter.
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/assets")).StatusCode);
    }

    [Fact]
    public async Task Sign_ups_beyond_the_limit_get_429_and_make_no_account()
    {
        await using var app = new ExchangeApp();
        using var strict = app.WithWebHostBuilder(b => b.UseSetting("AUTH_RATE_LIMIT_PER_MINUTE", "2"));
        var client = strict.CreateClient();
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++)
        {
            var response = await client.PostAsJsonAsync("/api/v1/auth/signup", new { email = $"limited-{i}@example.com", password = "correct horse battery" });
            statuses.Add(response.StatusCode);
        }
        Assert.Equal([HttpStatusCode.Created, HttpStatusCode.Created, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], statuses);
        using var scope = strict.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<ExchangeDbContext>();
        Assert.False(await db.Users.AnyAsync(u => u.Email == "limited-2@example.com" || u.Email == "limited-3@example.com"));
    }
}
