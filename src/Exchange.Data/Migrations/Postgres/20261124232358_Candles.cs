using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Exchange.Data.Migrations.Postgres
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
                    Asset = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    IntervalSeconds = table.Column<int>(type: "integer", nullable: false),
                    OpenTimeMs = table.Column<long>(type: "bigint", nullable: false),
                    Open = table.Column<decimal>(type: "numeric(28,8)", precision: 28, scale: 8, nullable: false),
                    High = table.Column<decimal>(type: "numeric(28,8)", precision: 28, scale: 8, nullable: false),
                    Low = table.Column<decimal>(type: "numeric(28,8)", precision: 28, scale: 8, nullable: false),
                    Close = table.Column<decimal>(type: "numeric(28,8)", precision: 28, scale: 8, nullable: false)
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
