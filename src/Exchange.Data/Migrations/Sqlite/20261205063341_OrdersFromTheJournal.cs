using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Exchange.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class OrdersFromTheJournal : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<long>(
                name: "LastOrderSequence",
                table: "RecorderCursor",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0L);

            // SQLite cannot alter a column: the table is rebuilt. Written by hand because EF's
            // rebuild turns foreign keys off between transactions (warning 20410 at every first
            // start, and a half-applied migration if the process dies in between); Orders has no
            // foreign keys, so the whole rebuild fits in the migration's own transaction.
            migrationBuilder.Sql("""
                CREATE TABLE "ef_temp_Orders" (
                    "OrderId" TEXT NOT NULL CONSTRAINT "PK_Orders" PRIMARY KEY,
                    "Code" TEXT NOT NULL,
                    "Command" TEXT NOT NULL,
                    "CreatedAtMs" INTEGER NOT NULL,
                    "IdempotencyKey" TEXT NULL,
                    "LatencyMicros" INTEGER NULL,
                    "Message" TEXT NULL,
                    "PayloadJson" TEXT NOT NULL,
                    "ResponseJson" TEXT NULL,
                    "Sequence" INTEGER NOT NULL,
                    "Status" TEXT NOT NULL,
                    "UserId" TEXT NOT NULL
                );
                """);
            migrationBuilder.Sql("""
                INSERT INTO "ef_temp_Orders" ("OrderId", "Code", "Command", "CreatedAtMs", "IdempotencyKey", "LatencyMicros", "Message", "PayloadJson", "ResponseJson", "Sequence", "Status", "UserId")
                SELECT "OrderId", "Code", "Command", "CreatedAtMs", "IdempotencyKey", "LatencyMicros", "Message", "PayloadJson", "ResponseJson", "Sequence", "Status", "UserId"
                FROM "Orders";
                """);
            migrationBuilder.Sql("DROP TABLE \"Orders\";");
            migrationBuilder.Sql("ALTER TABLE \"ef_temp_Orders\" RENAME TO \"Orders\";");
            migrationBuilder.Sql("""
                CREATE UNIQUE INDEX "IX_Orders_UserId_IdempotencyKey" ON "Orders" ("UserId", "IdempotencyKey") WHERE "IdempotencyKey" IS NOT NULL;
                """);

            migrationBuilder.UpdateData(
                table: "RecorderCursor",
                keyColumn: "Id",
                keyValue: 1,
                column: "LastOrderSequence",
                value: 0L);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "LastOrderSequence",
                table: "RecorderCursor");

            migrationBuilder.AlterColumn<long>(
                name: "LatencyMicros",
                table: "Orders",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0L,
                oldClrType: typeof(long),
                oldType: "INTEGER",
                oldNullable: true);
        }
    }
}
