using Exchange.Engine;
using Exchange.Feed.Exchanges;
using Exchange.Feed.Simulated;

namespace Exchange.Feed.Tests;

public class FeedOptionsTests
{
    private static FeedOptions Read(params (string Name, string Value)[] variables)
    {
        var env = variables.ToDictionary(v => v.Name, v => v.Value);
        return FeedOptions.FromEnvironment(name => env.GetValueOrDefault(name));
    }

    private static FeedConfigurationException Invalid(string name, string value)
    {
        var e = Assert.Throws<FeedConfigurationException>(() => Read((name, value)));
        Assert.StartsWith(name + ": ", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Equal(name, e.Variable);
        return e;
    }

    [Fact]
    public void Nothing_set_means_the_simulator_on_all_assets_every_second()
    {
        var options = Read();
        Assert.Equal("simulated", options.Source);
        Assert.Equal(["BTC_USDC", "ETH_USDC", "SOL_USDC"], options.Assets);
        Assert.Equal(1_000, options.UpdateIntervalMs);
        Assert.Equal(options, Read(("POLLER_SOURCE", " "), ("POLLER_ASSETS", "")) with { Assets = options.Assets });
    }

    [Fact]
    public void Every_variable_is_read()
    {
        var options = Read(("POLLER_SOURCE", "Binance"), ("POLLER_ASSETS", " sol_usdc , BTC_USDC,sol_usdc,"),
            ("POLLER_UPDATE_INTERVAL", "250"), ("POLLER_SEED", "-42"), ("POLLER_VOLATILITY", "0.0005"));
        Assert.Equal("binance", options.Source);
        Assert.Equal(["SOL_USDC", "BTC_USDC"], options.Assets);
        Assert.Equal(250, options.UpdateIntervalMs);
        Assert.Equal(-42, options.Seed);
        Assert.Equal(0.0005m, options.Volatility);
    }

    [Fact]
    public void A_replay_source_keeps_its_path()
    {
        Assert.Equal("replay:/data/prices 1.csv", Read(("POLLER_SOURCE", "REPLAY: /data/prices 1.csv")).Source);
    }

    [Theory]
    [InlineData("coinbase")]
    [InlineData("replay:")]
    [InlineData("replay:   ")]
    public void An_unknown_or_incomplete_source_is_a_configuration_error(string value) =>
        Invalid("POLLER_SOURCE", value);

    [Fact]
    public void An_unknown_asset_is_named_in_the_error()
    {
        var e = Invalid("POLLER_ASSETS", "BTC_USDC,DOGE_USDC");
        Assert.Contains("'DOGE_USDC'", e.Message);
        Assert.Contains("BTC_USDC, ETH_USDC, SOL_USDC", e.Message);
    }

    [Fact]
    public void An_asset_list_of_only_commas_is_a_configuration_error() =>
        Assert.Contains("no asset", Invalid("POLLER_ASSETS", " , ,").Message);

    [Theory]
    [InlineData("abc")]
    [InlineData("0")]
    [InlineData("-1000")]
    [InlineData("9")]
    [InlineData("1.5")]
    [InlineData("3600001")]
    [InlineData("99999999999999")]
    public void A_bad_update_interval_is_a_configuration_error(string value) =>
        Assert.Contains($"'{value}'", Invalid("POLLER_UPDATE_INTERVAL", value).Message);

    [Theory]
    [InlineData("POLLER_SEED", "x")]
    [InlineData("POLLER_SEED", "1.5")]
    [InlineData("POLLER_VOLATILITY", "-0.1")]
    [InlineData("POLLER_VOLATILITY", "0.5")]
    [InlineData("POLLER_VOLATILITY", "1e-4")]
    public void A_bad_simulator_setting_is_a_configuration_error(string name, string value) => Invalid(name, value);

    [Fact]
    public void Assets_are_checked_against_the_engines_list()
    {
        IReadOnlyList<AssetSpec> engine = [new AssetSpec("ETH_USDC"), new AssetSpec("BTC_USDC")];
        var e = Assert.Throws<FeedConfigurationException>(() =>
            FeedOptions.FromEnvironment(n => n == "POLLER_ASSETS" ? "SOL_USDC" : null, engine));
        Assert.Equal("POLLER_ASSETS", e.Variable);

        var resolved = new FeedOptions { Assets = ["btc_usdc", "ETH_USDC"] }.ResolveAssets(engine);
        Assert.Equal([("BTC_USDC", new AssetId(1)), ("ETH_USDC", new AssetId(0))], resolved);
    }

    [Fact]
    public void A_feed_for_an_asset_the_engine_lacks_is_refused()
    {
        var e = Assert.Throws<FeedConfigurationException>(() => new PriceFeed(new ChannelSource(), (_, _, _) => { },
            new FeedOptions { Assets = ["XRP_USDC"] }));
        Assert.Equal("POLLER_ASSETS", e.Variable);
    }

    [Fact]
    public void The_exchanges_connect_to_their_public_endpoints_unless_POLLER_WS_URL_says_otherwise()
    {
        var binance = Assert.IsType<BinanceBookTickerSource>(PriceSources.Create(new FeedOptions { Source = "binance", Assets = ["BTC_USDC", "SOL_USDC"] }));
        Assert.Equal("wss://stream.binance.com:9443/stream?streams=btcusdc@bookTicker/solusdc@bookTicker", binance.Endpoint.AbsoluteUri);
        var backpack = Assert.IsType<BackpackBookTickerSource>(PriceSources.Create(new FeedOptions { Source = "backpack" }));
        Assert.Equal("wss://ws.backpack.exchange/", backpack.Endpoint.AbsoluteUri);

        var options = Read(("POLLER_SOURCE", "binance"), ("POLLER_WS_URL", " ws://127.0.0.1:9000/ "), ("POLLER_ASSETS", "ETH_USDC"));
        Assert.Equal(new Uri("ws://127.0.0.1:9000/"), options.WebSocketUrl);
        var local = Assert.IsType<BinanceBookTickerSource>(PriceSources.Create(options));
        Assert.Equal("ws://127.0.0.1:9000/stream?streams=ethusdc@bookTicker", local.Endpoint.AbsoluteUri);
    }

    [Theory]
    [InlineData("localhost:9000")]
    [InlineData("http://127.0.0.1:9000")]
    [InlineData("/stream")]
    public void A_websocket_url_that_is_not_ws_or_wss_is_a_configuration_error(string value) =>
        Assert.Contains($"'{value}'", Invalid("POLLER_WS_URL", value).Message);

    [Fact]
    public void Impossible_reconnect_settings_are_refused()
    {
        var e = Assert.Throws<FeedConfigurationException>(() =>
            PriceSources.Create(new FeedOptions { Source = "backpack", ReconnectBaseDelayMs = 5_000, ReconnectMaxDelayMs = 1_000 }));
        Assert.Equal("POLLER_SOURCE", e.Variable);
    }

    [Fact]
    public void The_simulated_source_covers_the_selected_assets_with_the_options_settings()
    {
        var options = new FeedOptions { Assets = ["SOL_USDC", "BTC_USDC"], Seed = 9, UpdateIntervalMs = 250, Volatility = 0.0002m };
        var source = Assert.IsType<SimulatedPriceSource>(PriceSources.Create(options));
        Assert.Equal(["SOL_USDC", "BTC_USDC"], source.Symbols);

        var same = new SimulatedPriceSource(new SimulatedOptions
        {
            Assets = [SimulatedAsset.Defaults[2], SimulatedAsset.Defaults[0]],
            Seed = 9,
            Interval = TimeSpan.FromMilliseconds(250),
            Volatility = 0.0002m,
        });
        for (var step = 0; step < 100; step++)
            Assert.Equal(same.Step(step), source.Step(step));
    }
}
