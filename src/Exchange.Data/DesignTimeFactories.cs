using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Exchange.Data;

// Used only by `dotnet ef migrations add`, which needs a context of each provider without a
// running host; no database is opened.

internal sealed class SqliteDesignTimeFactory : IDesignTimeDbContextFactory<ExchangeDbContext>
{
    public ExchangeDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<ExchangeDbContext>().UseSqlite("Data Source=design-time.db").Options);
}

internal sealed class PostgresDesignTimeFactory : IDesignTimeDbContextFactory<PostgresExchangeDbContext>
{
    public PostgresExchangeDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<PostgresExchangeDbContext>().UseNpgsql("Host=localhost;Database=exchange").Options);
}
