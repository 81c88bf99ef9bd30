using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Exchange.Server.Tests;

/// <summary>/metrics shows the house's PnL and the insurance fund: the operator's numbers, not every visitor's.</summary>
[Collection(nameof(MetricsTests))]
public sealed class MetricsAccessTests
{
    private static async Task<HttpResponseMessage> ScrapeFromAsync(WebApplicationFactory<Program> app, string address)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        request.Headers.Add(ClientAddressFromHeader.Header, address);
        return await app.CreateClient().SendAsync(request);
    }

    private static WebApplicationFactory<Program> From(ExchangeApp app, string? allowed) => app.WithWebHostBuilder(b =>
    {
        if (allowed is not null) b.UseSetting(MetricsAccess.Variable, allowed);
        b.ConfigureServices(s => s.AddSingleton<IStartupFilter, ClientAddressFromHeader>());
    });

    [Theory]
    [InlineData("127.0.0.1", HttpStatusCode.OK)]
    [InlineData("::1", HttpStatusCode.OK)]
    [InlineData("::ffff:127.0.0.1", HttpStatusCode.OK)]
    [InlineData("10.1.2.3", HttpStatusCode.Forbidden)] // a proxy or load balancer on the private network, say
    [InlineData("192.168.1.2", HttpStatusCode.Forbidden)]
    [InlineData("203.0.113.7", HttpStatusCode.Forbidden)]
    [InlineData("2001:db8::1", HttpStatusCode.Forbidden)]
    public async Task By_default_metrics_answer_this_machine_only(string address, HttpStatusCode expected)
    {
        await using var app = new ExchangeApp();
        await using var scraped = From(app, allowed: null);

        using var response = await ScrapeFromAsync(scraped, address);

        Assert.Equal(expected, response.StatusCode);
        if (expected == HttpStatusCode.OK)
            Assert.Contains("exchange_insurance_fund_usd", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        else
        {
            var problem = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
            Assert.Equal("METRICS_FORBIDDEN", problem["code"]!.GetValue<string>());
            Assert.Contains(MetricsAccess.Variable, problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("203.0.113.0/24", "203.0.113.7", HttpStatusCode.OK)]
    [InlineData("203.0.113.0/24", "10.1.2.3", HttpStatusCode.Forbidden)]
    [InlineData("198.51.100.9, private", "198.51.100.9", HttpStatusCode.OK)]
    [InlineData("198.51.100.9, private", "10.1.2.3", HttpStatusCode.OK)]
    [InlineData("198.51.100.9", "127.0.0.1", HttpStatusCode.Forbidden)] // a list replaces the default
    [InlineData("198.51.100.9, private", "198.51.100.10", HttpStatusCode.Forbidden)]
    [InlineData("private", "10.1.2.3", HttpStatusCode.OK)]
    [InlineData("private", "172.31.255.1", HttpStatusCode.OK)]
    [InlineData("private", "fd00::5", HttpStatusCode.OK)]
    [InlineData("private", "::ffff:192.168.1.2", HttpStatusCode.OK)]
    [InlineData("private", "127.0.0.1", HttpStatusCode.OK)]
    [InlineData("private", "172.32.0.1", HttpStatusCode.Forbidden)]
    [InlineData("private", "203.0.113.7", HttpStatusCode.Forbidden)]
    [InlineData("local, 10.0.0.9", "10.0.0.9", HttpStatusCode.OK)]
    [InlineData("local, 10.0.0.9", "127.0.0.1", HttpStatusCode.OK)]
    [InlineData("::ffff:198.51.100.9", "198.51.100.9", HttpStatusCode.OK)]
    [InlineData("any", "203.0.113.7", HttpStatusCode.OK)]
    public async Task METRICS_ALLOWED_FROM_names_who_may_scrape(string allowed, string address, HttpStatusCode expected)
    {
        await using var app = new ExchangeApp();
        await using var scraped = From(app, allowed);

        using var response = await ScrapeFromAsync(scraped, address);

        Assert.Equal(expected, response.StatusCode);
    }

    [Theory]
    [InlineData("everyone")]
    [InlineData("10.0.0.0/33")]
    [InlineData("any, 10.0.0.1")]
    public void A_METRICS_ALLOWED_FROM_that_is_not_a_list_of_networks_stops_the_start_with_one_line(string allowed)
    {
        var dir = Directory.CreateTempSubdirectory("exchange-settings-").FullName;
        try
        {
            var refused = Assert.Throws<InvalidConfigurationException>(() => ExchangeSettings.From(new ConfigurationBuilder().AddInMemoryCollection(
                new Dictionary<string, string?>
                {
                    ["EXCHANGE_DATA_DIR"] = dir,
                    ["AUTH_JWT_SECRET"] = ExchangeApp.JwtSecret,
                    [MetricsAccess.Variable] = allowed,
                }).Build(), isDevelopment: false));

            Assert.StartsWith($"{MetricsAccess.Variable}={allowed} is invalid", refused.Message, StringComparison.Ordinal);
            Assert.DoesNotContain('\n', refused.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
