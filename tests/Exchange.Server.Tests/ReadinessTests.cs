using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Exchange.Server.Tests;

/// <summary>/readyz says ready only when the exchange can take orders: with its own feed, that needs fresh prices.</summary>
public sealed class ReadinessTests
{
    [Fact]
    public async Task With_a_feed_that_delivers_no_prices_the_exchange_is_not_ready_and_says_why()
    {
        await using var app = new ExchangeApp();
        await using var unreachable = app.WithWebHostBuilder(b => b
            .UseSetting("EXCHANGE_ROLES", "api,engine,feed")
            .UseSetting("POLLER_SOURCE", "binance")
            .UseSetting("POLLER_WS_URL", "ws://127.0.0.1:1/ws"));

        var ready = await unreachable.CreateClient().GetAsync("/readyz");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Contains("no fresh prices for BTC_USDC, ETH_USDC, SOL_USDC", await ready.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task With_a_feed_that_ticks_the_exchange_becomes_ready()
    {
        await using var app = new ExchangeApp();
        await using var simulated = app.WithWebHostBuilder(b => b
            .UseSetting("EXCHANGE_ROLES", "api,engine,feed")
            .UseSetting("POLLER_UPDATE_INTERVAL", "100"));
        var client = simulated.CreateClient();

        HttpResponseMessage ready;
        var tries = 0;
        do ready = await client.GetAsync("/readyz");
        while (ready.StatusCode != HttpStatusCode.OK && ++tries < 100 && await Task.Delay(50).ContinueWith(_ => true));

        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("ready", JsonNode.Parse(await ready.Content.ReadAsStringAsync())!["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Without_a_feed_of_its_own_prices_do_not_decide_readiness()
    {
        await using var app = new ExchangeApp(); // api,engine: prices come from elsewhere (here, the tests)

        Assert.Equal(HttpStatusCode.OK, (await app.CreateClient().GetAsync("/readyz")).StatusCode);
    }
}
