using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;

namespace Exchange.Server.Tests;

/// <summary>The test server has no client addresses: this gives each request the one its header names.</summary>
internal sealed class ClientAddressFromHeader : IStartupFilter
{
    public const string Header = "X-Test-Client-Address";

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use((http, nextMiddleware) =>
        {
            if (System.Net.IPAddress.TryParse(http.Request.Headers[Header], out var address)) http.Connection.RemoteIpAddress = address;
            return nextMiddleware(http);
        });
        next(app);
    };
}
