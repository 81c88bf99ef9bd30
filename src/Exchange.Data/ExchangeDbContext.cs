using Microsoft.EntityFrameworkCore;

namespace Exchange.Data;

/// <summary>
/// The audit trail. The model is provider-neutral (Unix-ms longs, decimals with explicit
/// precision, Guid and string ids), so the same configuration serves SQLite and PostgreSQL;
/// only the migrations differ, and EF Core finds them by context type:
/// <see cref="ExchangeDbContext"/> owns Migrations/Sqlite and
/// <see cref="PostgresExchangeDbContext"/> owns Migrations/Postgres.
/// </summary>
public class ExchangeDbContext : DbContext
{
    // Usd is whole cents in a long: at most 17 digits, 2 after the point.
    private const int MoneyPrecision = 20, MoneyScale = 2;

    // Price and Quantity are 1e-8 units in a long: at most 19 digits, 8 after the point.
    private const int UnitsPrecision = 20, UnitsScale = 8;

    // Candle prices: the same 1e-8 scale with room to spare.
    private const int CandlePrecision = 28, CandleScale = 8;

    public ExchangeDbContext(DbContextOptions<ExchangeDbContext> options) : base(options) { }

    protected ExchangeDbContext(DbContextOptions options) : base(options) { }

    public DbSet<User> Users => Set<User>();
    public DbSet<Order> Orders => Set<Order>();
    public DbSet<Trade> Trades => Set<Trade>();
    public DbSet<LedgerEntry> Ledger => Set<LedgerEntry>();
    public DbSet<RecorderCursor> RecorderCursors => Set<RecorderCursor>();
    public DbSet<Candle> Candles => Set<Candle>();
    public DbSet<SignedOutToken> SignedOutTokens => Set<SignedOutToken>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<User>(user =>
        {
            user.ToTable("Users");
            user.HasKey(u => u.Id);
            // Normalized on the way in, for stored values and query parameters alike, so
            // Users.Where(u => u.Email == typed) and the unique index both ignore case.
            user.Property(u => u.Email).HasMaxLength(320)
                .HasConversion(v => User.NormalizeEmail(v), v => v);
            user.HasIndex(u => u.Email).IsUnique();
            user.Property(u => u.PasswordHash).HasMaxLength(512);
        });

        modelBuilder.Entity<Order>(order =>
        {
            order.ToTable("Orders");
            order.HasKey(o => o.OrderId);
            order.Property(o => o.Command).HasMaxLength(32);
            order.Property(o => o.Status).HasMaxLength(16);
            order.Property(o => o.Code).HasMaxLength(64);
            order.Property(o => o.Message).HasMaxLength(512);
            order.Property(o => o.IdempotencyKey).HasMaxLength(128);
            // No index by (UserId, CreatedAtMs), nor on Ledger by user: nothing reads them that way yet,
            // and a per-user index dirties one page per active trader in every recorder commit (at
            // 2,000 commands/s these two were a quarter of the bytes the server wrote, on the disk the
            // journal fsyncs to; docs/benchmarks.md). Add one together with the query that needs it.
            // The filter reads the same in SQLite and PostgreSQL.
            order.HasIndex(o => new { o.UserId, o.IdempotencyKey }).IsUnique()
                .HasFilter("\"IdempotencyKey\" IS NOT NULL");
        });

        modelBuilder.Entity<Trade>(trade =>
        {
            trade.ToTable("Trades");
            trade.HasKey(t => t.TradeId);
            trade.Property(t => t.TradeId).HasMaxLength(32).IsFixedLength();
            trade.Property(t => t.Asset).HasMaxLength(32);
            trade.Property(t => t.Direction).HasMaxLength(8);
            trade.Property(t => t.Status).HasMaxLength(8);
            trade.Property(t => t.CloseReason).HasMaxLength(16);
            trade.Property(t => t.Margin).HasPrecision(MoneyPrecision, MoneyScale);
            trade.Property(t => t.Pnl).HasPrecision(MoneyPrecision, MoneyScale);
            trade.Property(t => t.Payout).HasPrecision(MoneyPrecision, MoneyScale);
            trade.Property(t => t.InsuranceFundChange).HasPrecision(MoneyPrecision, MoneyScale);
            trade.Property(t => t.Quantity).HasPrecision(UnitsPrecision, UnitsScale);
            trade.Property(t => t.OpenPrice).HasPrecision(UnitsPrecision, UnitsScale);
            trade.Property(t => t.LiquidationPrice).HasPrecision(UnitsPrecision, UnitsScale);
            trade.Property(t => t.StopLossPrice).HasPrecision(UnitsPrecision, UnitsScale);
            trade.Property(t => t.TakeProfitPrice).HasPrecision(UnitsPrecision, UnitsScale);
            trade.Property(t => t.ClosePrice).HasPrecision(UnitsPrecision, UnitsScale);
            // Pages one trader's closed trades by close time (open trades are read from the engine).
            // Closed ones only: an open trade then costs no index page, which in a recorder commit is
            // a page per trader who opened one (a third of the WAL at 2,000 commands/s). The filter
            // reads the same in SQLite and PostgreSQL, and the history query's literal matches it.
            trade.HasIndex(t => new { t.UserId, t.ClosedAtMs }).HasFilter("\"Status\" = 'closed'");
        });

        modelBuilder.Entity<LedgerEntry>(entry =>
        {
            entry.ToTable("Ledger");
            entry.HasKey(e => e.EventSequence);
            entry.Property(e => e.EventSequence).ValueGeneratedNever();
            entry.Property(e => e.Free).HasPrecision(MoneyPrecision, MoneyScale);
            entry.Property(e => e.Locked).HasPrecision(MoneyPrecision, MoneyScale);
            entry.Property(e => e.Reason).HasMaxLength(32);
            entry.Property(e => e.TradeId).HasMaxLength(32).IsFixedLength();
        });

        modelBuilder.Entity<RecorderCursor>(cursor =>
        {
            cursor.ToTable("RecorderCursor");
            cursor.HasKey(c => c.Id);
            cursor.Property(c => c.Id).ValueGeneratedNever();
            // Present from the first migration on, so the recorder only ever updates it.
            cursor.HasData(new RecorderCursor { Id = RecorderCursor.DefaultId, LastEventSequence = 0 });
        });

        modelBuilder.Entity<SignedOutToken>(token =>
        {
            token.ToTable("SignedOutTokens");
            token.HasKey(t => t.TokenId);
            token.Property(t => t.TokenId).HasMaxLength(64);
        });

        modelBuilder.Entity<Candle>(candle =>
        {
            candle.ToTable("Candles");
            // Also the index for "an asset's candles of one interval in a time range".
            candle.HasKey(c => new { c.Asset, c.IntervalSeconds, c.OpenTimeMs });
            candle.Property(c => c.Asset).HasMaxLength(32);
            candle.Property(c => c.Open).HasPrecision(CandlePrecision, CandleScale);
            candle.Property(c => c.High).HasPrecision(CandlePrecision, CandleScale);
            candle.Property(c => c.Low).HasPrecision(CandlePrecision, CandleScale);
            candle.Property(c => c.Close).HasPrecision(CandlePrecision, CandleScale);
        });
    }
}

/// <summary>The same model on PostgreSQL; exists so that its migrations are told apart from SQLite's.</summary>
public sealed class PostgresExchangeDbContext : ExchangeDbContext
{
    public PostgresExchangeDbContext(DbContextOptions<PostgresExchangeDbContext> options) : base(options) { }
}
