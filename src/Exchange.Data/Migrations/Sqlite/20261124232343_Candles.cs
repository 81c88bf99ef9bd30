using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Exchange.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class Candles : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "Candles",
                columns: table => new
                {
                    Asset = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    IntervalSeconds = table.Column<int>(type: "INTEGER", nullable: false),
                    OpenTimeMs = table.Column<long>(type: "INTEGER", nullable: false),
                    Open = table.Column<decimal>(type: "TEXT", precision: 28, scale: 8, nullable: false),
                    High = table.Column<decimal>(type: "TEXT", precision: 28, scale: 8, nullable: false),
                    Low = table.Column<decimal>(type: "TEXT", precision: 28, scale: 8, nullable: false),
                    Close = table.Column<decimal>(type: "TEXT", precision: 28, scale: 8, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Candles", x => new { x.Asset, x.IntervalSeconds, x.OpenTimeMs });
                });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "Candles");
        }
    }
}
