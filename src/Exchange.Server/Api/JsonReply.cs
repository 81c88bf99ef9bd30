using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.Options;

namespace Exchange.Server.Api;

/// <summary>
/// A JSON reply sent in one piece, with its Content-Length. <c>TypedResults.Ok</c> streams the
/// serializer's output, so Kestrel answers with chunked transfer encoding: the body, then the
/// closing chunk, two sends per reply (and two wake-ups of the client) where one does. Same
/// JSON options as the framework's results (<c>ConfigureHttpJsonOptions</c>).
/// </summary>
public abstract class JsonReply<T>(T value, int statusCode) : IResult, IStatusCodeHttpResult, IValueHttpResult, IValueHttpResult<T>
{
    public T Value => value;
    object? IValueHttpResult.Value => value;
    public int StatusCode => statusCode;
    int? IStatusCodeHttpResult.StatusCode => statusCode;

    public Task ExecuteAsync(HttpContext httpContext)
    {
        var options = httpContext.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        // Declared as object (a command's data): written as what it is, as the framework does.
        var type = options.GetTypeInfo(value is not null && typeof(T) == typeof(object) ? value.GetType() : typeof(T));
        var body = JsonSerializer.SerializeToUtf8Bytes(value, type);
        var response = httpContext.Response;
        response.StatusCode = statusCode;
        response.ContentType = "application/json; charset=utf-8";
        response.ContentLength = body.Length;
        WriteHeaders(response);
        return response.Body.WriteAsync(body).AsTask();
    }

    protected virtual void WriteHeaders(HttpResponse response) { }

    protected static void Describe(EndpointBuilder builder, int statusCode) =>
        builder.Metadata.Add(new ProducesResponseTypeMetadata(statusCode, typeof(T), ["application/json"]));
}

/// <summary>200 with <typeparamref name="T"/> as JSON, sent in one piece.</summary>
public sealed class JsonOk<T>(T value) : JsonReply<T>(value, StatusCodes.Status200OK), IEndpointMetadataProvider
{
    static void IEndpointMetadataProvider.PopulateMetadata(MethodInfo method, EndpointBuilder builder) =>
        Describe(builder, StatusCodes.Status200OK);
}

/// <summary>201 with the new resource's location and <typeparamref name="T"/> as JSON, sent in one piece.</summary>
public sealed class JsonCreated<T>(string location, T value) : JsonReply<T>(value, StatusCodes.Status201Created), IEndpointMetadataProvider
{
    public string Location => location;

    protected override void WriteHeaders(HttpResponse response) => response.Headers.Location = location;

    static void IEndpointMetadataProvider.PopulateMetadata(MethodInfo method, EndpointBuilder builder) =>
        Describe(builder, StatusCodes.Status201Created);
}

/// <summary>The one-piece counterparts of <c>TypedResults.Ok</c> and <c>TypedResults.Created</c>.</summary>
public static class JsonReply
{
    public static JsonOk<T> Ok<T>(T value) => new(value);

    public static JsonCreated<T> Created<T>(string location, T value) => new(location, value);
}
