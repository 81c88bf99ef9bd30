using Npgsql;

namespace Exchange.Data.Tests;

public sealed class DatabaseSettingsTests
{
    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void Without_DATABASE_URL_it_is_SQLite_in_the_data_folder(string? url)
    {
        var settings = DatabaseSettings.From(url, "some/data");
        Assert.Equal(DatabaseProvider.Sqlite, settings.Provider);
        Assert.Contains(Path.Combine(Path.GetFullPath("some/data"), "exchange.db"), settings.ConnectionString, StringComparison.Ordinal);
    }

    [Fact]
    public void A_postgresql_URL_becomes_an_Npgsql_connection_string()
    {
        var settings = DatabaseSettings.From("postgresql://exchange:s%40cret%3Aword@db.internal:6543/exchange_prod?sslmode=verify-full", "data");
        Assert.Equal(DatabaseProvider.Postgres, settings.Provider);
        var cs = new NpgsqlConnectionStringBuilder(settings.ConnectionString);
        Assert.Equal("db.internal", cs.Host);
        Assert.Equal(6543, cs.Port);
        Assert.Equal("exchange", cs.Username);
        Assert.Equal("s@cret:word", cs.Password);
        Assert.Equal("exchange_prod", cs.Database);
        Assert.Equal(SslMode.VerifyFull, cs.SslMode);
        Assert.DoesNotContain("cret", settings.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void The_postgres_scheme_and_the_default_port_work_too()
    {
        var cs = new NpgsqlConnectionStringBuilder(DatabaseSettings.From("postgres://u:p@localhost/db", "data").ConnectionString);
        Assert.Equal(5432, cs.Port);
        Assert.Equal("db", cs.Database);
    }

    [Fact]
    public void An_Npgsql_keyword_string_is_accepted_as_it_is()
    {
        var settings = DatabaseSettings.From("Host=127.0.0.1;Port=5499;Username=postgres;Database=exchange", "data");
        Assert.Equal(DatabaseProvider.Postgres, settings.Provider);
        Assert.Equal(5499, new NpgsqlConnectionStringBuilder(settings.ConnectionString).Port);
    }

    [Theory]
    [InlineData("mysql://u:secretpw@host/db")]
    [InlineData("postgresql://u:secretpw@host/db?frobnicate=1")]
    [InlineData("postgresql://u:secretpw@host/db?sslmode=sometimes")]
    [InlineData("Hots=nowhere")]
    public void A_bad_DATABASE_URL_fails_with_one_line_that_hides_the_password(string url)
    {
        var e = Assert.Throws<FormatException>(() => DatabaseSettings.From(url, "data"));
        Assert.StartsWith("DATABASE_URL", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secretpw", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }
}
