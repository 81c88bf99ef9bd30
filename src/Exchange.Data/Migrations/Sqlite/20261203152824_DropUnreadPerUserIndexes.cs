using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Exchange.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class DropUnreadPerUserIndexes : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_Orders_UserId_CreatedAtMs",
                table: "Orders");

            migrationBuilder.DropIndex(
                name: "IX_Ledger_UserId_EventSequence",
                table: "Ledger");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
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
