using System.IO.Compression;
using System.Text.Json.Serialization;
using System.Threading.RateLimiting;
using Exchange.Data;
using Exchange.Engine;
using Exchange.Feed;
using Exchange.Feed.Simulated;
using Exchange.Journal;
using Exchange.Server.Api;
using Exchange.Server.Auth;
using Exchange.Server.Push;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.ResponseCompression;
using OpenTelemetry.Metrics;
using Scalar.AspNetCore;

namespace Exchange.Server;

/// <summary>How the embedded exchange is put together: services, then the HTTP pipeline.</summary>
internal static class ServerSetup
{
    /// <summary>In the data folder: what the event recorder keeps while the database lags far behind.</summary>
    public const string RecorderOverflowFolder = "recorder-overflow";

    public static void AddExchangeServer(this IServiceCollection services, ExchangeSettings settings)
    {
        services.AddSingleton(settings);
        services.AddHostedService<DataFolderLock>(); // first: built, and so taken, before any other hosted service
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(settings.Engine);
        // Hosted services start in this order and stop in reverse: migrate, recorder, engine
        // (recovery, then a final snapshot on stop while the recorder still runs), feed.
        services.AddExchangeDatabase(settings.DatabaseUrl, settings.DataDirectory);
        services.AddSingleton<SignedOutTokens>();
        services.AddHostedService(sp => sp.GetRequiredService<SignedOutTokens>()); // after the migration
        services.AddEventRecorder(settings.Engine,
            new EventRecorderOptions { OverflowDirectory = Path.Combine(settings.DataDirectory, RecorderOverflowFolder) });
        services.AddSingleton<RecentCloses>();
        services.AddSingleton(sp => new EventFanout(sp.GetRequiredService<EventRecorder>(), sp.GetRequiredService<OrderHistory>(),
            sp.GetRequiredService<RecentCloses>(), new Lazy<PushHub>(sp.GetRequiredService<PushHub>),
            sp.GetRequiredService<ILoggerFactory>().CreateLogger<EventFanout>()));
        services.AddSingleton(sp => EngineHost.Start(settings.EngineHostOptions(), sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("Exchange.Engine"), sp.GetRequiredService<EventFanout>()));
        services.AddHostedService<EngineLifetime>();
        services.AddSingleton<PriceBoard>();
        services.AddSingleton<OrderHistory>();
        services.AddSingleton<OrderEntry>();
        services.AddSingleton<PushHub>();
        services.AddCandles(settings); // candles from the price board's ticks; after the database (hosted services start in order)
        if (settings.Roles.Contains("feed")) services.AddHostedService<FeedService>();

        services.AddSingleton(sp => new AuthTokens(settings.JwtKey, sp.GetRequiredService<TimeProvider>()));
        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<AuthTokens, TimeProvider, SignedOutTokens>((options, tokens, time, signedOut) =>
            {
                options.MapInboundClaims = false;
                options.SaveToken = false; // nothing reads the token back from the request's properties; saves copying it per request
                options.TokenValidationParameters = tokens.ValidationParameters();
                options.TokenHandlers.Clear();
                options.TokenHandlers.Add(new RememberingTokenHandler(time) { MapInboundClaims = false });
                options.Events = new JwtBearerEvents
                {
                    // Browsers send the HttpOnly cookie; API clients may send a Bearer header instead.
                    OnMessageReceived = context =>
                    {
                        if (string.IsNullOrEmpty(context.Request.Headers.Authorization))
                            context.Token = context.Request.Cookies[AuthTokens.CookieName];
                        return Task.CompletedTask;
                    },
                    // Also for a token remembered as valid (RememberingTokenHandler): a sign-out counts at once.
                    OnTokenValidated = context =>
                    {
                        if (signedOut.IsSignedOut(context.Principal!)) context.Fail("This token was signed out of.");
                        return Task.CompletedTask;
                    },
                    OnChallenge = async context =>
                    {
                        context.HandleResponse();
                        var problem = ApiProblem.For(StatusCodes.Status401Unauthorized, "UNAUTHENTICATED",
                            "Sign in first: send the authToken cookie or an Authorization: Bearer token.");
                        await problem.ExecuteAsync(context.HttpContext);
                    },
                };
            });
        services.AddAuthorization();
        services.AddRateLimiter(options =>
        {
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            options.AddPolicy(AuthApi.RateLimitPolicy, http => RateLimitPartition.GetFixedWindowLimiter(
                ClientSource.Of(http.Connection.RemoteIpAddress),
                _ => new FixedWindowRateLimiterOptions { PermitLimit = settings.AuthRateLimitPerMinute, Window = TimeSpan.FromMinutes(1) }));
            // A stream holds its permit for as long as it is open.
            options.AddPolicy(StreamApi.RateLimitPolicy, http => RateLimitPartition.GetConcurrencyLimiter(
                ClientSource.Of(http.Connection.RemoteIpAddress),
                _ => new ConcurrencyLimiterOptions { PermitLimit = settings.StreamsPerClient, QueueLimit = 0 }));
            options.OnRejected = async (context, _) =>
            {
                var http = context.HttpContext;
                var stream = http.Request.Path.StartsWithSegments(StreamApi.Path);
                http.Response.Headers.RetryAfter = stream ? "5" : "60";
                await ApiProblem.For(StatusCodes.Status429TooManyRequests, "RATE_LIMITED", stream
                    ? $"Too many streams open from this address (at most {settings.StreamsPerClient}): close one first."
                    : "Too many sign-in attempts; try again in a minute.").ExecuteAsync(http);
            };
        });
        // Every problem carries a stable code, also the framework's own (a query string that does
        // not bind, a wrong method): clients branch on codes, not on titles.
        services.AddProblemDetails(o => o.CustomizeProblemDetails = c =>
            c.ProblemDetails.Extensions.TryAdd("code", ApiProblem.CodeForStatus(c.ProblemDetails.Status ?? c.HttpContext.Response.StatusCode)));
        services.AddExceptionHandler<FailureAnswers>();
        services.AddOpenApi(o => o.AddDocumentTransformer<ApiDocument>().AddOperationTransformer<ApiDocument>().AddSchemaTransformer<ApiDocument>());
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.TypeInfoResolverChain.Insert(0, ApiJsonContext.Default);
            o.SerializerOptions.NumberHandling = JsonNumberHandling.Strict; // as ApiJsonContext reads bodies; the OpenAPI schemas follow it
        });
        services.AddHealthChecks();
        // The web terminal's files only (see UseExchangeServer): API replies stay uncompressed,
        // they are small and on the hot path.
        services.AddResponseCompression(o =>
        {
            o.EnableForHttps = true; // nothing secret is served outside /api
            o.Providers.Add<BrotliCompressionProvider>();
            o.Providers.Add<GzipCompressionProvider>();
        });
        services.Configure<BrotliCompressionProviderOptions>(o => o.Level = CompressionLevel.Optimal);
        services.Configure<GzipCompressionProviderOptions>(o => o.Level = CompressionLevel.Optimal);
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter("Exchange.Engine", "Exchange.Data.EventRecorder", OrderEntry.MeterName, FeedMetrics.MeterName, "System.Runtime")
            .AddAspNetCoreInstrumentation()
            .AddPrometheusExporter());
    }

    public static void UseExchangeServer(this WebApplication app)
    {
        app.UseThreadPoolExceptForOrderEntry(); // first: see SocketThreads
        app.UseSecurityHeaders();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseWhen(http => !http.Request.Path.StartsWithSegments("/api"), web => web.UseResponseCompression());
        app.UseDefaultFiles();
        app.UseStaticFiles(WebFiles());
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter();
        // Pings, and a socket that answers none for 30 s is dropped: a stream whose network went
        // away would otherwise hold its place (and its client's stream allowance) until TCP gives up.
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(30), KeepAliveTimeout = TimeSpan.FromSeconds(30) });

        app.MapOpenApi("/openapi/v1.json");
        app.MapScalarApiReference("/docs", o => o.WithTitle("Exchange API").WithOpenApiRoutePattern("/openapi/v1.json"));
        app.MapAuthApi();
        app.MapEngineApi();
        app.MapTradesApi();
        app.MapMarketApi();
        app.MapCandlesApi();
        app.MapStreamApi();

        // The web terminal's client-side routes fall back to its index.html; unknown API paths stay 404 problems.
        app.MapFallback("/api/{**path}", (HttpContext http, EndpointDataSource endpoints) => ApiProblem.NoEndpoint(http, endpoints)).ExcludeFromDescription();
        app.MapFallbackToFile("index.html", WebFiles());

        var metricsAllowedFrom = app.Services.GetRequiredService<ExchangeSettings>().MetricsAllowedFrom;
        app.MapPrometheusScrapingEndpoint("/metrics", meterProvider: null, optionsName: null, configureBranchedPipeline: metrics => metrics.Use((http, next) =>
            MetricsAccess.Allows(metricsAllowedFrom, http.Connection.RemoteIpAddress)
                ? next(http)
                : ApiProblem.For(StatusCodes.Status403Forbidden, "METRICS_FORBIDDEN",
                    $"/metrics answers only the addresses in {MetricsAccess.Variable} (this machine unless set).").ExecuteAsync(http)));
        // A failed engine thread takes no input until the process restarts (and recovers): not alive.
        app.MapGet("/healthz", (EngineHost engine) => engine.Fault is null
            ? Results.Ok(new { status = "alive" })
            : Results.Json(new { status = "engine stopped" }, statusCode: StatusCodes.Status503ServiceUnavailable)) // why: in the log
            .ExcludeFromDescription();
        app.MapGet("/readyz", async (EngineHost engine, EventRecorder recorder, ExchangeDbContext db, PriceBoard board,
            ExchangeSettings settings, TimeProvider time) =>
        {
            var database = await db.Database.CanConnectAsync();
            // With a feed of its own, an exchange without fresh prices rejects every order (NO_PRICE,
            // PRICE_STALE): not ready, whatever else works.
            var stalePrices = settings.Roles.Contains("feed") ? StalePrices(board, settings, time) : [];
            var status = engine.Fault is not null ? "engine stopped"
                : !database ? "database unreachable"
                : stalePrices.Count > 0 ? "no fresh prices for " + string.Join(", ", stalePrices)
                : "ready";
            var body = new
            {
                status,
                sequence = engine.DurableSequence,
                recoveredInMs = (long)engine.Recovery.Duration.TotalMilliseconds,
                recorderQueue = recorder.QueueLength,
                recorderFailures = recorder.ConsecutiveFailures,
            };
            return status == "ready" ? Results.Ok(body) : Results.Json(body, statusCode: StatusCodes.Status503ServiceUnavailable);
        }).ExcludeFromDescription();
    }

    /// <summary>The feed's assets whose last price is older than the engine accepts for an order.</summary>
    private static List<string> StalePrices(PriceBoard board, ExchangeSettings settings, TimeProvider time)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var fresh = board.All().Where(p => now - p.Timestamp <= settings.Engine.PriceMaxAgeMs).Select(p => p.Asset).ToHashSet(StringComparer.OrdinalIgnoreCase);
        return [.. settings.Feed.Assets.Where(a => !fresh.Contains(a))];
    }

    // Vite names every file under /assets by its content hash: those are cached for good; the page
    // that names them (index.html, also served for client-side routes) is revalidated on every load.
    private static StaticFileOptions WebFiles() => new()
    {
        OnPrepareResponse = file => file.Context.Response.Headers.CacheControl =
            file.Context.Request.Path.StartsWithSegments("/assets") ? "public, max-age=31536000, immutable" : "no-cache",
    };
}

/// <summary>
/// Recovers the engine once the database is migrated and the recorder runs (recovery replays
/// events into it), and shuts it down (final snapshot) before the recorder stops.
/// </summary>
internal sealed class EngineLifetime(IServiceProvider services, IHostApplicationLifetime application, ILogger<EngineLifetime> logger) : IHostedService
{
    private EngineHost? _engine;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            _engine = services.GetRequiredService<EngineHost>(); // recovers
            await RefuseAnotherFoldersDatabaseAsync(_engine, services.GetRequiredService<EventRecorder>());
        }
        catch (Exception e) when (e is DataFolderMismatchException or InvalidDataException or JournalCorruptException or JournalGapException)
        {
            // A data folder recovery cannot use as it is (inputs missing, a corrupt journal, a newer
            // build's format): one line saying so, as for a bad setting, before any input is taken.
            throw new InvalidConfigurationException(e is JournalCorruptException { MayBeUnacknowledgedTail: true }
                ? e.Message + ". If the machine lost power, this can be the last batch, never acknowledged, written out of order: " +
                  "`Exchange.Server data cut-tail` says what setting it aside would cut, and `--yes` does it, unless it was acknowledged (docs/durability.md)"
                : e.Message);
        }
        services.GetRequiredService<PushHub>();
        _engine.Failed += Stop;
        if (_engine.Fault is { } early) Stop(early);
    }

    /// <summary>
    /// Recovery refuses a database holding orders past the data folder's end; this catches one
    /// whose events reach further (an older copy of the folder, say). The recorder would skip
    /// every new event up to its cursor as already written, and the audit trail silently miss
    /// them. Refused before any input is taken, and without the final snapshot, which would
    /// claim that this database holds the folder's events.
    /// </summary>
    private static async Task RefuseAnotherFoldersDatabaseAsync(EngineHost engine, EventRecorder recorder)
    {
        // The cap covers a cursor the recorder could not read at start and reads later.
        var (engineEvents, recordedEvents) = await engine.ReadAsync(e => (e.LastEventSequence, recorder.RecordedEventsCappedAt(e.LastEventSequence)));
        if (recordedEvents <= engineEvents) return;
        engine.DisposeWithoutSnapshot();
        throw new DataFolderMismatchException(
            $"The database has recorded events up to {recordedEvents}, but the journal and snapshots in the data folder end at event {engineEvents}");
    }

    /// <summary>
    /// An exchange whose engine has stopped cannot trade: the process stops with exit code 1 so
    /// a supervisor restarts it, and recovery rebuilds the state from the journal. Meanwhile
    /// requests are answered 503 ENGINE_STOPPED and /healthz fails.
    /// </summary>
    private void Stop(Exception fault)
    {
        logger.LogCritical("The engine has stopped ({Reason}): stopping the exchange; start it again to recover from the journal", fault.Message);
        Environment.ExitCode = 1;
        application.StopApplication();
    }

    public Task StopAsync(CancellationToken cancellationToken) => _engine is null ? Task.CompletedTask : Task.Run(_engine.Dispose, CancellationToken.None);
}

/// <summary>
/// The feed role: runs the configured price source into the engine's log and the price board.
/// The engine is resolved when the feed starts, not when it is built: the host builds every
/// hosted service before starting the first, and building the engine host recovers it, which
/// must wait for the migration and for the recorder to know how far it has recorded.
/// </summary>
internal sealed class FeedService(IServiceProvider services, PriceBoard board, ExchangeSettings settings, TimeProvider time, ILogger<FeedService> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var engine = services.GetRequiredService<EngineHost>();
        var lastMids = await LastMidsAsync(engine);
        var source = settings.CheckedReplay?.WithClock(time) ?? PriceSources.Create(settings.Feed, time, logger, lastMids);
        logger.LogInformation("Prices from {Source} for {Assets}, at most one tick per asset every {Interval} ms{Resuming}",
            settings.Feed.Source, string.Join(", ", settings.Feed.Assets), settings.Feed.UpdateIntervalMs,
            source is SimulatedPriceSource && lastMids.Count > 0 ? " (resuming from the last prices)" : "");
        // An engine that takes no more input (it failed, or the host is being torn down after a
        // failed start) ends the feed: retrying the source every second would only log that again.
        using var engineGone = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var feed = new PriceFeed(source, (asset, bid, ask) =>
        {
            try
            {
                engine.SubmitTick(asset, bid, ask);
            }
            catch (EngineStoppedException)
            {
                engineGone.Cancel();
                return;
            }
            board.Update(asset, bid, ask, time.GetUtcNow().ToUnixTimeMilliseconds());
        }, settings.Feed, settings.Engine.Assets, time, logger);
        using var metrics = new FeedMetrics(feed, source);
        await feed.RunAsync(engineGone.Token);
    }

    /// <summary>Each market's mid in the recovered engine (the last tick before the stop), for the simulator to resume from.</summary>
    private static Task<Dictionary<string, decimal>> LastMidsAsync(EngineHost engine) => engine.ReadAsync(e =>
    {
        var mids = new Dictionary<string, decimal>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < e.Config.Assets.Count; i++)
        {
            var asset = new AssetId(i); // an asset's id is its place in the config
            if (e.Bid(asset).IsSet) mids[e.Config.Assets[i].Symbol] = (e.Bid(asset).ToDecimal() + e.Ask(asset).ToDecimal()) / 2;
        }
        return mids;
    });
}
