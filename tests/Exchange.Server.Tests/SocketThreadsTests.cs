using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Exchange.Server.Tests;

/// <summary>
/// Kestrel starts each request on the thread that read it (see SocketThreads); only order entry
/// may stay there. Each request here starts on a thread of its own, as on a socket thread.
/// </summary>
public sealed class SocketThreadsTests
{
    [Theory]
    [InlineData("POST", "/api/v1/engine")]
    [InlineData("POST", "/API/V1/ENGINE")]
    public async Task Order_entry_stays_on_the_thread_that_read_it(string method, string path) =>
        Assert.False(await RanOnThreadPoolAsync(method, path));

    [Theory]
    [InlineData("POST", "/api/v1/auth/signup")] // password hashing
    [InlineData("POST", "/api/v1/auth/signin")]
    [InlineData("GET", "/api/v1/trades/history")] // SQLite reads
    [InlineData("GET", "/api/v1/orders/0190a8f2-0000-7000-8000-000000000000")]
    [InlineData("GET", "/api/v1/candles/BTC")]
    [InlineData("GET", "/api/v1/engine")]
    [InlineData("POST", "/api/v1/engine/other")]
    [InlineData("GET", "/assets/index.js")] // static files
    [InlineData("GET", "/readyz")]
    public async Task Every_other_request_moves_to_the_thread_pool_first(string method, string path) =>
        Assert.True(await RanOnThreadPoolAsync(method, path));

    private static Task<bool> RanOnThreadPoolAsync(string method, string path)
    {
        var result = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var app = new ApplicationBuilder(new ServiceCollection().BuildServiceProvider());
        app.UseThreadPoolExceptForOrderEntry();
        app.Run(_ =>
        {
            result.SetResult(Thread.CurrentThread.IsThreadPoolThread);
            return Task.CompletedTask;
        });
        var pipeline = app.Build();
        var http = new DefaultHttpContext();
        http.Request.Method = method;
        http.Request.Path = path;
        var socketThread = new Thread(() => pipeline(http).GetAwaiter().GetResult());
        socketThread.Start();
        return result.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }
}
