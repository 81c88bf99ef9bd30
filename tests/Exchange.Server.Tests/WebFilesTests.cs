using System.Net;
using System.Net.Http.Headers;

namespace Exchange.Server.Tests;

/// <summary>How the web terminal's files are served: compressed, hashed assets cached for good, pages revalidated.</summary>
public sealed class WebFilesTests : IAsyncLifetime
{
    private static readonly string Script = string.Concat(Enumerable.Repeat("export const price = '95000.00';\n", 2_000));
    private readonly string _webRoot = Directory.CreateTempSubdirectory("exchange-web-").FullName;
    private ExchangeApp _app = null!;

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(Path.Combine(_webRoot, "assets"));
        File.WriteAllText(Path.Combine(_webRoot, "index.html"), "<!doctype html><script type=\"module\" src=\"/assets/index-abc123.js\"></script>");
        File.WriteAllText(Path.Combine(_webRoot, "assets", "index-abc123.js"), Script);
        _app = new ExchangeApp(webRoot: _webRoot);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        Directory.Delete(_webRoot, recursive: true);
    }

    private static HttpRequestMessage Get(string path, string encodings)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        foreach (var encoding in encodings.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue(encoding));
        return request;
    }

    [Fact]
    public async Task Hashed_assets_are_brotli_compressed_and_cached_for_good()
    {
        using var client = _app.CreateClient();
        using var response = await client.SendAsync(Get("/assets/index-abc123.js", "gzip, br"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("br", Assert.Single(response.Content.Headers.ContentEncoding));
        Assert.True((await response.Content.ReadAsByteArrayAsync()).Length < Script.Length / 10);
        Assert.Equal("public, max-age=31536000, immutable", response.Headers.CacheControl?.ToString());
    }

    [Fact]
    public async Task Gzip_is_used_when_the_browser_has_no_brotli()
    {
        using var client = _app.CreateClient();
        using var response = await client.SendAsync(Get("/assets/index-abc123.js", "gzip"));

        Assert.Equal("gzip", Assert.Single(response.Content.Headers.ContentEncoding));
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/signin")]
    public async Task Pages_and_client_side_routes_are_revalidated_on_every_load(string path)
    {
        using var client = _app.CreateClient();
        using var response = await client.SendAsync(Get(path, "br"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("no-cache", response.Headers.CacheControl?.ToString());
        Assert.Contains("index-abc123.js", await DecodedAsync(response));
    }

    [Fact]
    public async Task Api_replies_are_never_compressed()
    {
        using var client = _app.CreateClient();
        using var response = await client.SendAsync(Get("/api/v1/assets", "gzip, br"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(response.Content.Headers.ContentEncoding);
    }

    private static async Task<string> DecodedAsync(HttpResponseMessage response)
    {
        var stream = await response.Content.ReadAsStreamAsync();
        if (response.Content.Headers.ContentEncoding.Contains("br"))
            stream = new System.IO.Compression.BrotliStream(stream, System.IO.Compression.CompressionMode.Decompress);
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
    }

    [Fact]
    public async Task The_terminal_runs_only_its_own_scripts_and_cannot_be_framed()
    {
        var client = _app.CreateClient();
        var page = await client.GetAsync("/");
        var docs = await client.GetAsync("/docs");
        var api = await client.GetAsync("/api/v1/assets");

        var policy = string.Join(' ', page.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("script-src 'self'", policy);
        Assert.Contains("frame-ancestors 'none'", policy);
        Assert.Equal("DENY", Assert.Single(page.Headers.GetValues("X-Frame-Options")));
        Assert.Contains("frame-ancestors 'none'", string.Join(' ', docs.Headers.GetValues("Content-Security-Policy")));
        Assert.DoesNotContain("script-src", string.Join(' ', docs.Headers.GetValues("Content-Security-Policy")));
        foreach (var response in new[] { page, docs })
        {
            Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
            Assert.Equal("no-referrer", Assert.Single(response.Headers.GetValues("Referrer-Policy")));
        }
        Assert.False(api.Headers.Contains("Content-Security-Policy")); // JSON is never rendered; the headers cost order entry time
    }

    [Fact]
    public async Task The_api_reference_and_the_probes_answer_on_a_healthy_exchange()
    {
        var client = _app.CreateClient();

        var docs = await client.GetAsync("/docs");
        Assert.Equal(HttpStatusCode.OK, docs.StatusCode);
        Assert.Contains("openapi/v1.json", await docs.Content.ReadAsStringAsync()); // the reference reads the document
        var openApi = await client.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, openApi.StatusCode);
        Assert.Contains("/api/v1/engine", await openApi.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz")).StatusCode);
    }
}
