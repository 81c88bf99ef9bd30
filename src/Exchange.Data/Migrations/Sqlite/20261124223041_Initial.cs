using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Exchange.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class Initial : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "Ledger",
                columns: table => new
                {
                    EventSequence = table.Column<long>(type: "INTEGER", nullable: false),
                    UserId = table.Column<Guid>(type: "TEXT", nullable: false),
                    Free = table.Column<decimal>(type: "TEXT", precision: 20, scale: 2, nullable: false),
                    Locked = table.Column<decimal>(type: "TEXT", precision: 20, scale: 2, nullable: false),
                    Reason = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    TradeId = table.Column<string>(type: "TEXT", fixedLength: true, maxLength: 32, nullable: true),
                    OrderId = table.Column<Guid>(type: "TEXT", nullable: true),
                    InputSequence = table.Column<long>(type: "INTEGER", nullable: false),
                    AtMs = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Ledger", x => x.EventSequence);
                });

            migrationBuilder.CreateTable(
                name: "Orders",
                columns: table => new
                {
                    OrderId = table.Column<Guid>(type: "TEXT", nullable: false),
                    UserId = table.Column<Guid>(type: "TEXT", nullable: false),
                    Command = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    PayloadJson = table.Column<string>(type: "TEXT", nullable: false),
                    Status = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    Code = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Message = table.Column<string>(type: "TEXT", maxLength: 512, nullable: true),
                    ResponseJson = table.Column<string>(type: "TEXT", nullable: true),
                    LatencyMicros = table.Column<long>(type: "INTEGER", nullable: false),
                    Sequence = table.Column<long>(type: "INTEGER", nullable: false),
                    CreatedAtMs = table.Column<long>(type: "INTEGER", nullable: false),
                    IdempotencyKey = table.Column<string>(type: "TEXT", maxLength: 128, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Orders", x => x.OrderId);
                });

            migrationBuilder.CreateTable(
                name: "RecorderCursor",
                columns: table => new
                {
                    Id = table.Column<int>(type: "INTEGER", nullable: false),
                    LastEventSequence = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_RecorderCursor", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "Trades",
                columns: table => new
                {
                    TradeId = table.Column<string>(type: "TEXT", fixedLength: true, maxLength: 32, nullable: false),
                    UserId = table.Column<Guid>(type: "TEXT", nullable: false),
                    Asset = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    Direction = table.Column<string>(type: "TEXT", maxLength: 8, nullable: false),
                    Margin = table.Column<decimal>(type: "TEXT", precision: 20, scale: 2, nullable: false),
                    Leverage = table.Column<int>(type: "INTEGER", nullable: false),
                    Quantity = table.Column<decimal>(type: "TEXT", precision: 20, scale: 8, nullable: false),
                    OpenPrice = table.Column<decimal>(type: "TEXT", precision: 20, scale: 8, nullable: false),
                    LiquidationPrice = table.Column<decimal>(type: "TEXT", precision: 20, scale: 8, nullable: false),
                    StopLossPrice = table.Column<decimal>(type: "TEXT", precision: 20, scale: 8, nullable: true),
                    TakeProfitPrice = table.Column<decimal>(type: "TEXT", precision: 20, scale: 8, nullable: true),
                    OpenedAtMs = table.Column<long>(type: "INTEGER", nullable: false),
                    OpenSequence = table.Column<long>(type: "INTEGER", nullable: false),
                    OpenOrderId = table.Column<Guid>(type: "TEXT", nullable: false),
                    Status = table.Column<string>(type: "TEXT", maxLength: 8, nullable: false),
                    ClosePrice = table.Column<decimal>(type: "TEXT", precision: 20, scale: 8, nullable: true),
                    CloseReason = table.Column<string>(type: "TEXT", maxLength: 16, nullable: true),
                    Pnl = table.Column<decimal>(type: "TEXT", precision: 20, scale: 2, nullable: true),
                    Payout = table.Column<decimal>(type: "TEXT", precision: 20, scale: 2, nullable: true),
                    InsuranceFundChange = table.Column<decimal>(type: "TEXT", precision: 20, scale: 2, nullable: true),
                    ClosedAtMs = table.Column<long>(type: "INTEGER", nullable: true),
                    CloseSequence = table.Column<long>(type: "INTEGER", nullable: true),
                    CloseOrderId = table.Column<Guid>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Trades", x => x.TradeId);
                });

            migrationBuilder.CreateTable(
                name: "Users",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    Email = table.Column<string>(type: "TEXT", maxLength: 320, nullable: false),
                    PasswordHash = table.Column<string>(type: "TEXT", maxLength: 512, nullable: false),
                    CreatedAtMs = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Users", x => x.Id);
                });

            migrationBuilder.InsertData(
                table: "RecorderCursor",
                columns: new[] { "Id", "LastEventSequence" },
                values: new object[] { 1, 0L });

            migrationBuilder.CreateIndex(
                name: "IX_Ledger_UserId_EventSequence",
                table: "Ledger",
                columns: new[] { "UserId", "EventSequence" });

            migrationBuilder.CreateIndex(
                name: "IX_Orders_UserId_CreatedAtMs",
                table: "Orders",
                columns: new[] { "UserId", "CreatedAtMs" });

            migrationBuilder.CreateIndex(
                name: "IX_Orders_UserId_IdempotencyKey",
                table: "Orders",
                columns: new[] { "UserId", "IdempotencyKey" },
                unique: true,
                filter: "\"IdempotencyKey\" IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "IX_Trades_UserId_Status_ClosedAtMs",
                table: "Trades",
                columns: new[] { "UserId", "Status", "ClosedAtMs" });

            migrationBuilder.CreateIndex(
                name: "IX_Users_Email",
                table: "Users",
                column: "Email",
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "Ledger");

            migrationBuilder.DropTable(
                name: "Orders");

            migrationBuilder.DropTable(
                name: "RecorderCursor");

            migrationBuilder.DropTable(
                name: "Trades");

            migrationBuilder.DropTable(
                name: "Users");
        }
    }
}
