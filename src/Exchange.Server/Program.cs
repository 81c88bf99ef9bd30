using Exchange.Journal;
using Exchange.Server;

if (args is ["data", .. var dataArgs]) return DataFolderTool.Run(dataArgs, Console.Out);
if (args is ["engine-stdio", .. var stdioArgs]) return await EngineLineProtocol.RunAsync(stdioArgs);

var builder = WebApplication.CreateBuilder(args);
if (builder.Configuration["urls"] is null && builder.Configuration["ASPNETCORE_URLS"] is null)
    builder.WebHost.UseUrls("http://localhost:3005");

ExchangeSettings settings;
try
{
    settings = ExchangeSettings.From(builder.Configuration);
}
catch (InvalidConfigurationException e)
{
    await Console.Error.WriteLineAsync($"exchange: {e.Message}");
    return 2;
}

builder.Services.AddSingleton(settings);
builder.Services.AddSingleton(sp => EngineHost.Start(settings.EngineHostOptions(), sp.GetRequiredService<TimeProvider>(),
    sp.GetRequiredService<ILoggerFactory>().CreateLogger("Exchange.Engine")));
builder.Services.AddSingleton(TimeProvider.System);

var app = builder.Build();
// Recover before taking traffic: the engine is the source of truth.
var engine = app.Services.GetRequiredService<EngineHost>();
app.Lifetime.ApplicationStopped.Register(engine.Dispose);

app.MapGet("/healthz", () => TypedResults.Ok(new { status = "alive" }));
app.MapGet("/readyz", () => TypedResults.Ok(new
{
    status = "ready",
    sequence = engine.DurableSequence,
    recoveredInMs = (long)engine.Recovery.Duration.TotalMilliseconds,
}));

await app.RunAsync();
return 0;
