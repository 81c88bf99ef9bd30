namespace Exchange.Server;

/// <summary>
/// Headers a browser needs to protect a trader in depth: no sniffing a reply into another type,
/// no referrer leaving the site, and for the web terminal a content security policy that runs
/// only this site's own scripts and lets no page frame it (clickjacking an order ticket).
/// The API reference at /docs keeps the framing rule but not the script rule: Scalar's page
/// runs inline script.
/// </summary>
internal static class SecurityHeaders
{
    private const string TerminalPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
        "connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    private const string DocsPolicy = "object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app) => app.Use((http, next) =>
    {
        var headers = http.Response.Headers;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        var path = http.Request.Path;
        if (!path.StartsWithSegments("/api"))
        {
            headers.XFrameOptions = "DENY";
            headers.ContentSecurityPolicy = path.StartsWithSegments("/docs") || path.StartsWithSegments("/openapi") ? DocsPolicy : TerminalPolicy;
        }
        return next(http);
    });
}
