using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Metadata;

namespace Exchange.Server.Api;

/// <summary>RFC 7807 problem details with a stable machine-readable <c>code</c>.</summary>
internal static class ApiProblem
{
    public const int MaxBodyBytes = 64 * 1024;

    public static ProblemHttpResult For(int status, string code, string detail)
    {
        var extensions = new Dictionary<string, object?> { ["code"] = code };
        return TypedResults.Problem(detail: detail, statusCode: status, title: Title(code), type: $"https://exchange.dev/problems/{code.ToLowerInvariant().Replace('_', '-')}", extensions: extensions);
    }

    public static ProblemHttpResult BadRequest(string code, string detail) => For(StatusCodes.Status400BadRequest, code, detail);

    public static ProblemHttpResult NotFound(string code, string detail) => For(StatusCodes.Status404NotFound, code, detail);

    /// <summary>The code of a problem raised without one (by the framework): named after its status.</summary>
    public static string CodeForStatus(int status) => status switch
    {
        StatusCodes.Status400BadRequest => "BAD_REQUEST",
        StatusCodes.Status401Unauthorized => "UNAUTHENTICATED",
        StatusCodes.Status403Forbidden => "FORBIDDEN",
        StatusCodes.Status404NotFound => "NOT_FOUND",
        StatusCodes.Status405MethodNotAllowed => "METHOD_NOT_ALLOWED",
        StatusCodes.Status413PayloadTooLarge => "BODY_TOO_LARGE",
        StatusCodes.Status415UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
        StatusCodes.Status429TooManyRequests => "RATE_LIMITED",
        StatusCodes.Status503ServiceUnavailable => "UNAVAILABLE",
        >= 500 => "INTERNAL_ERROR",
        _ => "ERROR",
    };

    /// <summary>
    /// No endpoint matched an /api path. A JSON endpoint's path posted with another content type
    /// (curl -d sends a form) also ends here, as routing matches on the content type: that is a
    /// 415 saying what to send, not a 404 saying the endpoint does not exist.
    /// </summary>
    public static ProblemHttpResult NoEndpoint(HttpContext http, EndpointDataSource endpoints)
    {
        var request = http.Request;
        var wantsJson = endpoints.Endpoints.OfType<RouteEndpoint>().Any(e =>
            e.Metadata.GetMetadata<IAcceptsMetadata>() is not null
            && e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods.Contains(request.Method, StringComparer.OrdinalIgnoreCase) != false
            && string.Equals("/" + e.RoutePattern.RawText?.TrimStart('/'), request.Path.Value?.TrimEnd('/'), StringComparison.OrdinalIgnoreCase));
        return wantsJson
            ? For(StatusCodes.Status415UnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json.")
            : NotFound("NOT_FOUND", "No such API endpoint.");
    }

    private static string Title(string code) =>
        string.Join(' ', code.Split('_').Select((w, i) => i == 0 ? w[..1] + w[1..].ToLowerInvariant() : w.ToLowerInvariant()));

    /// <summary>
    /// Reads a JSON body with a size cap, turning every way it can be wrong into a 4xx problem
    /// (malformed JSON, wrong types, numbers out of range, NaN/Infinity, too large).
    /// </summary>
    public static async Task<(T? Value, ProblemHttpResult? Problem)> ReadJsonAsync<T>(HttpRequest request, JsonTypeInfo<T> type)
        where T : class
    {
        if (request.ContentLength > MaxBodyBytes)
            return (null, For(StatusCodes.Status413PayloadTooLarge, "BODY_TOO_LARGE", $"The body may be at most {MaxBodyBytes} bytes."));
        if (request.HasJsonContentType() is false && request.ContentLength is > 0)
            return (null, For(StatusCodes.Status415UnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json."));
        try
        {
            using var limited = new LimitedStream(request.Body, MaxBodyBytes);
            var value = await JsonSerializer.DeserializeAsync(limited, type, request.HttpContext.RequestAborted);
            return value is null
                ? (null, BadRequest("INVALID_JSON", "The body must be a JSON object."))
                : (value, null);
        }
        catch (BodyTooLargeException)
        {
            return (null, For(StatusCodes.Status413PayloadTooLarge, "BODY_TOO_LARGE", $"The body may be at most {MaxBodyBytes} bytes."));
        }
        catch (JsonException e)
        {
            var where = e.Path is { Length: > 1 } path ? $" at {path}" : "";
            return (null, BadRequest("INVALID_JSON", $"The body is not valid for this request{where}: expected JSON with the documented fields and types."));
        }
    }

    private sealed class BodyTooLargeException : Exception;

    /// <summary>Stops reading once a body passes the cap, whatever Content-Length claimed (or if it was chunked).</summary>
    private sealed class LimitedStream(Stream inner, long limit) : Stream
    {
        private long _read;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var n = await inner.ReadAsync(buffer, cancellationToken);
            _read += n;
            if (_read > limit) throw new BodyTooLargeException();
            return n;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _read; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
