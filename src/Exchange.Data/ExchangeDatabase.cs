using Exchange.Engine;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Exchange.Data;

public enum DatabaseProvider
{
    Sqlite,
    Postgres,
}

/// <summary>Which database the exchange uses and how to reach it, decided once from DATABASE_URL.</summary>
public sealed class DatabaseSettings
{
    public const string SqliteFileName = "exchange.db";

    private DatabaseSettings(DatabaseProvider provider, string connectionString, string description)
    {
        Provider = provider;
        ConnectionString = connectionString;
        Description = description;
    }

    public DatabaseProvider Provider { get; }
    public string ConnectionString { get; }

    /// <summary>For logs: where the database is, without the password.</summary>
    public string Description { get; }

    public override string ToString() => Description;

    /// <summary>
    /// DATABASE_URL set (postgresql://user:password@host:port/database, or an Npgsql
    /// "Host=...;" string): PostgreSQL. Unset or blank: SQLite file exchange.db in
    /// <paramref name="dataDirectory"/>. A malformed URL throws <see cref="FormatException"/>
    /// with one line that names the problem and never the password.
    /// </summary>
    public static DatabaseSettings From(string? databaseUrl, string dataDirectory)
    {
        if (string.IsNullOrWhiteSpace(databaseUrl))
        {
            var path = Path.Combine(Path.GetFullPath(dataDirectory), SqliteFileName);
            var sqlite = new SqliteConnectionStringBuilder { DataSource = path, Pooling = true };
            return new DatabaseSettings(DatabaseProvider.Sqlite, sqlite.ConnectionString, $"SQLite {path}");
        }
        var npgsql = ParsePostgres(databaseUrl.Trim());
        return new DatabaseSettings(DatabaseProvider.Postgres, npgsql.ConnectionString,
            $"PostgreSQL {npgsql.Host}:{npgsql.Port}/{npgsql.Database}");
    }

    private static NpgsqlConnectionStringBuilder ParsePostgres(string url)
    {
        if (!url.Contains("://", StringComparison.Ordinal))
        {
            try
            {
                return new NpgsqlConnectionStringBuilder(url);
            }
            catch (ArgumentException e)
            {
                throw new FormatException($"DATABASE_URL is not a valid PostgreSQL connection string: {e.Message}", e);
            }
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("postgresql" or "postgres"))
            throw new FormatException("DATABASE_URL must look like postgresql://user:password@host:5432/database.");
        if (string.IsNullOrEmpty(uri.Host))
            throw new FormatException("DATABASE_URL has no host: expected postgresql://user:password@host:5432/database.");

        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = uri.DnsSafeHost,
            Port = uri.Port > 0 ? uri.Port : 5432,
        };
        var database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        if (database.Length > 0) builder.Database = database;
        if (uri.UserInfo.Length > 0)
        {
            var colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
            builder.Username = Uri.UnescapeDataString(colon < 0 ? uri.UserInfo : uri.UserInfo[..colon]);
            if (colon >= 0) builder.Password = Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]);
        }

        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            var key = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]);
            var value = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..]);
            try
            {
                // libpq's spelling, as hosted PostgreSQL services hand it out.
                if (key.Equals("sslmode", StringComparison.OrdinalIgnoreCase))
                    builder.SslMode = Enum.Parse<SslMode>(value.Replace("-", "", StringComparison.Ordinal), ignoreCase: true);
                else
                    builder[key] = value;
            }
            catch (ArgumentException e)
            {
                throw new FormatException($"DATABASE_URL has an unsupported parameter '{key}': {e.Message}", e);
            }
        }
        return builder;
    }
}

/// <summary>Registration and start-up of the audit database.</summary>
public static class ExchangeDatabase
{
    /// <summary>
    /// Registers <see cref="IDbContextFactory{ExchangeDbContext}"/>, a scoped
    /// <see cref="ExchangeDbContext"/> (a <see cref="PostgresExchangeDbContext"/> on PostgreSQL),
    /// the <see cref="DatabaseSettings"/>, and a hosted service that applies migrations when
    /// the host starts. Register it before anything that uses the database at start
    /// (such as <see cref="AddEventRecorder"/>): hosted services start in order.
    /// </summary>
    public static IServiceCollection AddExchangeDatabase(this IServiceCollection services, string? databaseUrl, string dataDirectory)
    {
        var settings = DatabaseSettings.From(databaseUrl, dataDirectory);
        services.AddSingleton(settings);
        if (settings.Provider == DatabaseProvider.Sqlite)
        {
            services.AddDbContextFactory<ExchangeDbContext>(o => Configure(o, settings));
        }
        else
        {
            services.AddDbContextFactory<PostgresExchangeDbContext>(o => Configure(o, settings));
            services.AddSingleton<IDbContextFactory<ExchangeDbContext>>(sp =>
                new PostgresFactory(sp.GetRequiredService<IDbContextFactory<PostgresExchangeDbContext>>()));
        }
        services.TryAddScoped(sp => sp.GetRequiredService<IDbContextFactory<ExchangeDbContext>>().CreateDbContext());
        services.AddHostedService<DatabaseMigrator>();
        return services;
    }

    /// <summary>
    /// Registers the <see cref="EventRecorder"/> as a singleton and a hosted service. Hand the
    /// same instance to the engine host as its <c>IEngineEventListener</c>.
    /// </summary>
    public static IServiceCollection AddEventRecorder(this IServiceCollection services, EngineConfig engineConfig,
        EventRecorderOptions? options = null)
    {
        services.AddSingleton(sp => new EventRecorder(
            sp.GetRequiredService<IDbContextFactory<ExchangeDbContext>>(), engineConfig,
            sp.GetRequiredService<ILogger<EventRecorder>>(), options));
        services.AddHostedService(sp => sp.GetRequiredService<EventRecorder>());
        return services;
    }

    /// <summary>
    /// Registers the <see cref="CandleRecorder"/> as a singleton and a hosted service (after
    /// <see cref="AddExchangeDatabase"/>). Feed it with <see cref="CandleRecorder.OnTick"/>.
    /// </summary>
    public static IServiceCollection AddCandleRecorder(this IServiceCollection services, CandleRecorderOptions options)
    {
        services.AddSingleton(sp => new CandleRecorder(
            sp.GetRequiredService<IDbContextFactory<ExchangeDbContext>>(), options,
            sp.GetService<TimeProvider>() ?? TimeProvider.System, sp.GetRequiredService<ILogger<CandleRecorder>>()));
        services.AddHostedService(sp => sp.GetRequiredService<CandleRecorder>());
        return services;
    }

    public static void Configure(DbContextOptionsBuilder options, DatabaseSettings settings)
    {
        if (settings.Provider == DatabaseProvider.Sqlite)
            options.UseSqlite(settings.ConnectionString).AddInterceptors(SqliteConnectionSettings.Instance);
        else
            options.UseNpgsql(settings.ConnectionString);
    }

    /// <summary>
    /// Creates the database if needed and applies the provider's migrations. SQLite is
    /// switched to WAL first (a setting the file keeps), so readers never block the recorder.
    /// </summary>
    public static async Task MigrateAsync(IDbContextFactory<ExchangeDbContext> factory, CancellationToken cancellationToken = default)
    {
        await using var db = await factory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        if (db.Database.IsSqlite())
        {
            var path = new SqliteConnectionStringBuilder(db.Database.GetConnectionString()).DataSource;
            var directory = Path.GetDirectoryName(Path.GetFullPath(path));
            if (directory is not null) Directory.CreateDirectory(directory);
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken).ConfigureAwait(false);
        }
        await db.Database.MigrateAsync(cancellationToken).ConfigureAwait(false);
    }

    public static Task MigrateAsync(IServiceProvider services, CancellationToken cancellationToken = default) =>
        MigrateAsync(services.GetRequiredService<IDbContextFactory<ExchangeDbContext>>(), cancellationToken);

    private sealed class PostgresFactory(IDbContextFactory<PostgresExchangeDbContext> inner) : IDbContextFactory<ExchangeDbContext>
    {
        public ExchangeDbContext CreateDbContext() => inner.CreateDbContext();
    }

    private sealed class DatabaseMigrator(IDbContextFactory<ExchangeDbContext> factory, DatabaseSettings settings,
        ILogger<DatabaseMigrator> logger) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            await MigrateAsync(factory, cancellationToken).ConfigureAwait(false);
            logger.LogInformation("Database ready: {Database}", settings.Description);
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
