using Microsoft.Extensions.Configuration;

namespace Exchange.Server.Tests;

/// <summary>Settings that only make sense together.</summary>
public sealed class ExchangeSettingsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("exchange-settings-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(null, 9_000)] // the default interval, 1 s
    [InlineData("2500", 7_500)]
    public void A_silent_sources_last_price_is_re_sent_only_for_less_than_the_engines_price_age(string? interval, int expected)
    {
        var settings = ExchangeSettings.From(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["EXCHANGE_DATA_DIR"] = _dir,
            ["AUTH_JWT_SECRET"] = ExchangeApp.JwtSecret,
            ["POLLER_UPDATE_INTERVAL"] = interval,
        }).Build(), isDevelopment: false);

        // Each re-sent tick makes the engine's price young again: once the source is silent, the
        // last re-send plus the engine's price age bounds how long traders can trade on its price.
        Assert.Equal(expected, settings.Feed.StaleAfterMs);
        Assert.True(settings.Feed.StaleAfterMs + settings.Feed.UpdateIntervalMs <= settings.Engine.PriceMaxAgeMs);
    }
}
