using System.Net;
using System.Net.Http.Json;
using Exchange.Journal;
using Exchange.Server.Push;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace Exchange.Server.Tests;

/// <summary>
/// When the engine thread fails (a listener that throws stands in for a failing disk), clients
/// get a 503 with a code instead of a 500 or no answer, the probes say so, and the exchange
/// stops itself with exit code 1 so a supervisor restarts it and recovery runs.
/// </summary>
[Collection(nameof(ProcessExitCode))]
public sealed class EngineStoppedTests
{
    [Fact]
    public async Task A_failed_engine_answers_503_engine_stopped_fails_the_probes_and_stops_the_exchange()
    {
        await using var app = new ExchangeApp();
        await using var failing = app.WithWebHostBuilder(b => b.ConfigureTestServices(services =>
            services.AddSingleton(sp => EngineHost.Start(sp.GetRequiredService<ExchangeSettings>().EngineHostOptions(),
                TimeProvider.System, NullLogger.Instance, new FailingListener(sp.GetRequiredService<EventFanout>())))));
        // The exchange stops itself once the engine fails; holding its stopping callbacks keeps the
        // test server up until the answers below are checked.
        using var release = new ManualResetEventSlim();
        var stopRequested = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var hold = failing.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(() =>
        {
            stopRequested.TrySetResult();
            release.Wait(TimeSpan.FromSeconds(30));
        });
        try
        {
            var trader = await TraderWithoutAccountAsync(failing);

            var first = await trader.EngineAsync(new { command = "CREATE_ACCOUNT" }); // its events are the first delivery: the listener throws
            var later = await trader.EngineAsync(new { command = "GET_BALANCE" });
            var health = await failing.CreateClient().GetAsync("/healthz");
            var ready = await failing.CreateClient().GetAsync("/readyz");

            foreach (var response in new[] { first, later })
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
                Assert.Equal("ENGINE_STOPPED", (await response.ProblemAsync())["code"]!.GetValue<string>());
                Assert.NotNull(response.Headers.RetryAfter);
            }
            Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            Assert.Contains("engine stopped", await ready.Content.ReadAsStringAsync());
            await stopRequested.Task.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(1, Environment.ExitCode);
        }
        finally
        {
            release.Set();
            Environment.ExitCode = 0; // the test runner's own
        }
    }

    [Fact]
    public async Task A_failure_while_pushing_events_to_open_screens_does_not_stop_the_engine()
    {
        await using var app = new ExchangeApp();
        await using var brokenPush = app.WithWebHostBuilder(b => b.ConfigureTestServices(services =>
            services.AddSingleton(sp => new EventFanout(sp.GetRequiredService<Data.EventRecorder>(), sp.GetRequiredService<Api.OrderHistory>(),
                sp.GetRequiredService<Api.RecentCloses>(), new Lazy<PushHub>(() => throw new InvalidOperationException("push is broken")),
                NullLogger.Instance))));
        try
        {
            var trader = await TraderWithoutAccountAsync(brokenPush);

            var account = await trader.EngineAsync(new { command = "CREATE_ACCOUNT" }); // its events reach the broken push
            var balance = await trader.EngineAsync(new { command = "GET_BALANCE" });

            Assert.Equal(HttpStatusCode.OK, account.StatusCode);
            Assert.Equal(HttpStatusCode.OK, balance.StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await brokenPush.CreateClient().GetAsync("/healthz")).StatusCode);
            Assert.Null(brokenPush.Services.GetRequiredService<EngineHost>().Fault);
            Assert.Equal(0, Environment.ExitCode);
        }
        finally
        {
            Environment.ExitCode = 0; // the test runner's own
        }
    }

    private static async Task<Trader> TraderWithoutAccountAsync(WebApplicationFactory<Program> app)
    {
        var client = app.CreateClient(new WebApplicationFactoryClientOptions { HandleCookies = true });
        var email = $"trader-{Guid.NewGuid():N}@example.com";
        var signup = await client.PostAsJsonAsync("/api/v1/auth/signup", new { email, password = "correct horse battery" });
        signup.EnsureSuccessStatusCode();
        return new Trader(client, email, "", Guid.Empty);
    }

    /// <summary>Passes events on to the exchange's own listener, and throws on the first live delivery.</summary>
    private sealed class FailingListener(IEngineEventListener inner) : IEngineEventListener
    {
        public long RecordedEventSequence => inner.RecordedEventSequence;

        public void OnEvents(IReadOnlyList<object> events, bool replayed)
        {
            if (!replayed) throw new IOException("disk on fire");
            inner.OnEvents(events, replayed);
        }
    }
}

/// <summary>Tests that set <see cref="Environment.ExitCode"/> run alone.</summary>
[CollectionDefinition(nameof(ProcessExitCode), DisableParallelization = true)]
public sealed class ProcessExitCode;
