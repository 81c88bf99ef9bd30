using Exchange.Server;
using Microsoft.AspNetCore.Connections;

if (args is ["--help"] or ["-h"] or ["help"])
{
    Console.WriteLine("""
        usage: Exchange.Server                         run the exchange (settings: environment variables, see README.md)
               Exchange.Server --urls http://host:port  ... on another address (default http://localhost:3005)
               Exchange.Server data list|verify|hash [--data DIR]
                                                       look into a data folder without starting the exchange
               Exchange.Server data cut-tail [--yes] [--data DIR]
                                                       say what setting aside a last batch a power cut damaged would cut;
                                                       --yes cuts it (docs/durability.md)
        """);
    return 0;
}
if (args is ["data", .. var dataArgs]) return DataFolderTool.Run(dataArgs, Console.Out);
if (args is ["engine-stdio", .. var stdioArgs]) return await EngineLineProtocol.RunAsync(stdioArgs);

var builder = WebApplication.CreateBuilder(args);
if (builder.Configuration["urls"] is null && builder.Configuration["ASPNETCORE_URLS"] is null)
    builder.WebHost.UseUrls("http://localhost:3005");

ExchangeSettings settings;
try
{
    settings = ExchangeSettings.From(builder.Configuration, builder.Environment.IsDevelopment());
    DataFolderLock.Take(settings.DataDirectory).Dispose(); // refused here in one line; the host holds it while it runs
}
catch (InvalidConfigurationException e)
{
    return await RefuseAsync(e.Message);
}

// The host logs a failure to start, stack trace and all, before it rethrows: the refusals below
// say what went wrong in one line, and any other failure still ends in the runtime's report.
// The rule covers that category alone and keeps it at Information, as before (its own lifecycle lines are Debug).
var started = false;
builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", level => level >= LogLevel.Information && (started || level != LogLevel.Error));
builder.Services.AddExchangeServer(settings);
SocketThreads.RunRequestsInline(builder.WebHost);
builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false); // nothing to learn about what serves the exchange

var app = builder.Build();
app.Lifetime.ApplicationStarted.Register(() => started = true);
app.UseExchangeServer();
SocketThreads.CompleteSocketsInline(settings); // after Build: test hosts stop there and keep the default
await using (app)
{
    try
    {
        await app.StartAsync();
    }
    catch (Exception e) when (e is InvalidConfigurationException || e is IOException { InnerException: AddressInUseException })
    {
        // The services that started before the refusal (the recorder, the engine, the feed) stop
        // in order, as on any shutdown, rather than being disposed mid-run by the host.
        await app.StopAsync();
        return await RefuseAsync(e is InvalidConfigurationException
            ? e.Message
            : $"{e.Message} Stop what listens there, or choose another address with ASPNETCORE_URLS.");
    }
    await app.WaitForShutdownAsync();
}
return Environment.ExitCode; // 1 when the engine failed (see EngineLifetime)

static async Task<int> RefuseAsync(string reason)
{
    await Console.Error.WriteLineAsync($"exchange: {reason}");
    return 2;
}

/// <summary>Visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
