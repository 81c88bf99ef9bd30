using Exchange.Server;

if (args is ["data", .. var dataArgs]) return DataFolderTool.Run(dataArgs, Console.Out);
if (args is ["engine-stdio", .. var stdioArgs]) return await EngineLineProtocol.RunAsync(stdioArgs);

var builder = WebApplication.CreateBuilder(args);
if (builder.Configuration["urls"] is null && builder.Configuration["ASPNETCORE_URLS"] is null)
    builder.WebHost.UseUrls("http://localhost:3005");

ExchangeSettings settings;
try
{
    settings = ExchangeSettings.From(builder.Configuration, builder.Environment.IsDevelopment());
}
catch (InvalidConfigurationException e)
{
    await Console.Error.WriteLineAsync($"exchange: {e.Message}");
    return 2;
}

builder.Services.AddExchangeServer(settings);
SocketThreads.RunRequestsInline(builder.WebHost);

var app = builder.Build();
app.UseExchangeServer();
SocketThreads.CompleteSocketsInline(settings); // after Build: test hosts stop there and keep the default
await app.RunAsync();
return 0;

/// <summary>Visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
