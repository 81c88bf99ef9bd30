namespace Exchange.Server;

/// <summary>
/// Headers a browser needs to protect a trader in depth, on the pages a browser renders: no
/// sniffing a reply into another type, no referrer leaving the site, a content security policy
/// that runs only this site's own scripts, and no page framing the terminal (clickjacking an
/// order ticket). The API reference at /docs keeps the framing rule but not the script rule:
/// Scalar's page runs inline script. API replies (JSON, never rendered) go without: writing
/// them cost order entry ~40 µs at the median and ~15 µs of CPU per command (docs/benchmarks.md,
/// eighteenth pass).
/// </summary>
internal static class SecurityHeaders
{
    private const string TerminalPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
        "connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    private const string DocsPolicy = "object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app) => app.Use((http, next) =>
    {
        var path = http.Request.Path;
        var headers = http.Response.Headers;
        if (path.StartsWithSegments("/api"))
        {
            // What the API reads out (balances, trades, orders, prices) is never stored by a browser or a
            // proxy: not on the disk of a shared computer after sign-out, never served stale. Reads only:
            // no cache stores a POST's reply, and order entry stays without the header's cost.
            if (HttpMethods.IsGet(http.Request.Method)) headers.CacheControl = "no-store";
            return next(http);
        }
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.XFrameOptions = "DENY";
        headers.ContentSecurityPolicy = path.StartsWithSegments("/docs") || path.StartsWithSegments("/openapi") ? DocsPolicy : TerminalPolicy;
        return next(http);
    });
}
