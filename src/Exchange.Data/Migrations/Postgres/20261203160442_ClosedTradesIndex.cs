using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Exchange.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class ClosedTradesIndex : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_Trades_UserId_Status_ClosedAtMs",
                table: "Trades");

            migrationBuilder.CreateIndex(
                name: "IX_Trades_UserId_ClosedAtMs",
                table: "Trades",
                columns: new[] { "UserId", "ClosedAtMs" },
                filter: "\"Status\" = 'closed'");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_Trades_UserId_ClosedAtMs",
                table: "Trades");

            migrationBuilder.CreateIndex(
                name: "IX_Trades_UserId_Status_ClosedAtMs",
                table: "Trades",
                columns: new[] { "UserId", "Status", "ClosedAtMs" });
        }
    }
}
