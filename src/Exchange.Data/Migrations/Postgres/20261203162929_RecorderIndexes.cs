using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Exchange.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class RecorderIndexes : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_Trades_UserId_Status_ClosedAtMs",
                table: "Trades");

            migrationBuilder.DropIndex(
                name: "IX_Orders_UserId_CreatedAtMs",
                table: "Orders");

            migrationBuilder.DropIndex(
                name: "IX_Ledger_UserId_EventSequence",
                table: "Ledger");

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

            migrationBuilder.CreateIndex(
                name: "IX_Orders_UserId_CreatedAtMs",
                table: "Orders",
                columns: new[] { "UserId", "CreatedAtMs" });

            migrationBuilder.CreateIndex(
                name: "IX_Ledger_UserId_EventSequence",
                table: "Ledger",
                columns: new[] { "UserId", "EventSequence" });
        }
    }
}
