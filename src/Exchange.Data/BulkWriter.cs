using System.Data.Common;
using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;

namespace Exchange.Data;

/// <summary>
/// Inserts and keyed updates for the recorder's hot path, built from the EF Core model: table
/// and column names from it, and parameters made by each column's own type mapping, so values
/// are stored exactly as SaveChanges stores them, on either provider.
/// <para>
/// Why not SaveChanges: it builds and prepares one statement per row, several times the CPU
/// of a prepared statement re-executed with new values, which is what this does. On
/// PostgreSQL a statement carries a few rows, so a batch needs few round trips; on SQLite,
/// where there are no round trips, one row per statement with the values bound by position
/// (<see cref="SqliteRowStatement"/>).
/// </para>
/// </summary>
internal sealed class BulkWriter
{
    private const int MaxParametersPerStatement = 64;
    private const int MaxRowsPerStatement = 16;

    // One writer serves one database, so one provider: its names and SQL are cached by shape.
    private readonly Dictionary<(Type, string), Table> _tables = [];
    private readonly Dictionary<(Type, string, int), string> _sql = [];
    private ISqlGenerationHelper? _helper;
    private string[] _parameterNames = [];

    private sealed record Column(IProperty Property, string Name, RelationalTypeMapping Mapping, IClrPropertyGetter Getter);

    /// <summary>For an update, <see cref="Columns"/> are the columns set, then the key columns.</summary>
    private sealed record Table(string Name, Column[] Columns, int KeyColumns);

    public Task InsertAsync<T>(DbContext db, IReadOnlyList<T> rows, CancellationToken cancellationToken) where T : class
    {
        if (rows.Count == 0) return Task.CompletedTask;
        var table = TableOf<T>(db, properties: null);
        return ExecuteAsync(db, rows, table, "insert", count => InsertSql(table, count), cancellationToken);
    }

    /// <summary>
    /// Inserts each row, or overwrites every other column of the row already there with the same
    /// primary key (<c>INSERT ... ON CONFLICT (key) DO UPDATE</c>, which SQLite and PostgreSQL
    /// both understand). Rows of one call must have distinct keys.
    /// </summary>
    public Task UpsertAsync<T>(DbContext db, IReadOnlyList<T> rows, CancellationToken cancellationToken) where T : class
    {
        if (rows.Count == 0) return Task.CompletedTask;
        var table = TableOf<T>(db, properties: null);
        return ExecuteAsync(db, rows, table, "upsert", count => UpsertSql(table, count), cancellationToken);
    }

    /// <summary>Sets <paramref name="properties"/> of each row, found by its primary key.</summary>
    public Task UpdateAsync<T>(DbContext db, IReadOnlyList<T> rows, string[] properties, CancellationToken cancellationToken)
        where T : class
    {
        if (rows.Count == 0) return Task.CompletedTask;
        var table = TableOf<T>(db, properties);
        return ExecuteAsync(db, rows, table, "update:" + string.Join(",", properties), count => UpdateSql(table, count),
            cancellationToken);
    }

    /// <summary>
    /// Runs the rows through one prepared command of <c>perCommand</c> rows, re-executed with new
    /// values, and a last smaller command for the remainder.
    /// </summary>
    private async Task ExecuteAsync<T>(DbContext db, IReadOnlyList<T> rows, Table table, string kind, Func<int, string> sql,
        CancellationToken cancellationToken) where T : class
    {
        if (db.Database.GetDbConnection() is SqliteConnection sqlite)
        {
            RunOnSqlite(sqlite, rows, table, SqlFor<T>(kind, 1, sql));
            return;
        }
        var perCommand = Math.Clamp(MaxParametersPerStatement / table.Columns.Length, 1, MaxRowsPerStatement);
        DbCommand? full = null;
        try
        {
            var start = 0;
            for (; start + perCommand <= rows.Count; start += perCommand)
            {
                if (full is null)
                {
                    full = CreateCommand(db, SqlFor<T>(kind, perCommand, sql));
                    AddParameters(full, table, rows, start, perCommand);
                    await full.PrepareAsync(cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    SetValues(full, table, rows, start, perCommand);
                }
                await full.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            if (start < rows.Count)
            {
                var count = rows.Count - start;
                await using var rest = CreateCommand(db, SqlFor<T>(kind, count, sql));
                AddParameters(rest, table, rows, start, count);
                await rest.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            if (full is not null) await full.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static void RunOnSqlite<T>(SqliteConnection connection, IReadOnlyList<T> rows, Table table, string sql) where T : class
    {
        using var statement = SqliteRowStatement.Prepare(connection, sql);
        var values = new object?[table.Columns.Length];
        foreach (var row in rows)
        {
            for (var c = 0; c < values.Length; c++) values[c] = ProviderValue(table.Columns[c], row);
            statement.Run(values);
        }
    }

    /// <summary>A column's value as the provider stores it (after the property's value converter, if any).</summary>
    private static object? ProviderValue(Column column, object row)
    {
        var value = column.Getter.GetClrValueUsingContainingEntity(row);
        return value is not null && column.Mapping.Converter is { } converter ? converter.ConvertToProvider(value) : value;
    }

    private Table TableOf<T>(DbContext db, string[]? properties)
    {
        var key = properties is null ? "" : string.Join(",", properties);
        if (_tables.TryGetValue((typeof(T), key), out var table)) return table;
        var entity = db.Model.FindEntityType(typeof(T)) ?? throw new InvalidOperationException($"{typeof(T).Name} is not in the model.");
        var store = StoreObjectIdentifier.Table(entity.GetTableName()!, entity.GetSchema());
        var keyProperties = entity.FindPrimaryKey()!.Properties;
        var chosen = properties is null
            ? entity.GetProperties().ToList()
            : properties.Select(n => entity.FindProperty(n) ?? throw new InvalidOperationException($"No property {n}."))
                .Concat(keyProperties).ToList();
        var helper = _helper ??= db.GetService<ISqlGenerationHelper>();
        table = new Table(
            helper.DelimitIdentifier(store.Name, store.Schema),
            chosen.Select(p => new Column(p, helper.DelimitIdentifier(p.GetColumnName(store)!), p.GetRelationalTypeMapping(), p.GetGetter()))
                .ToArray(),
            properties is null ? 0 : keyProperties.Count);
        _tables[(typeof(T), key)] = table;
        return table;
    }

    private string SqlFor<T>(string kind, int rows, Func<int, string> build)
    {
        if (!_sql.TryGetValue((typeof(T), kind, rows), out var sql))
        {
            sql = build(rows);
            _sql[(typeof(T), kind, rows)] = sql;
        }
        return sql;
    }

    private string UpsertSql(Table table, int rows)
    {
        var keys = table.Columns.Where(c => c.Property.IsPrimaryKey()).Select(c => c.Name).ToList();
        var sets = table.Columns.Where(c => !c.Property.IsPrimaryKey()).Select(c => $"{c.Name} = excluded.{c.Name}");
        var insert = InsertSql(table, rows);
        return new StringBuilder(insert, 0, insert.Length - 1, insert.Length + 128)
            .Append(" ON CONFLICT (").AppendJoin(", ", keys).Append(") DO UPDATE SET ").AppendJoin(", ", sets).Append(';').ToString();
    }

    private string InsertSql(Table table, int rows)
    {
        var sql = new StringBuilder("INSERT INTO ").Append(table.Name).Append(" (")
            .AppendJoin(", ", table.Columns.Select(c => c.Name)).Append(") VALUES ");
        var p = 0;
        for (var r = 0; r < rows; r++)
        {
            if (r > 0) sql.Append(", ");
            sql.Append('(');
            for (var c = 0; c < table.Columns.Length; c++)
            {
                if (c > 0) sql.Append(", ");
                sql.Append(Placeholder(p++));
            }
            sql.Append(')');
        }
        return sql.Append(';').ToString();
    }

    private string UpdateSql(Table table, int rows)
    {
        var sets = table.Columns.Length - table.KeyColumns;
        var sql = new StringBuilder();
        var p = 0;
        for (var r = 0; r < rows; r++)
        {
            sql.Append("UPDATE ").Append(table.Name).Append(" SET ");
            for (var c = 0; c < sets; c++)
            {
                if (c > 0) sql.Append(", ");
                sql.Append(table.Columns[c].Name).Append(" = ").Append(Placeholder(p++));
            }
            sql.Append(" WHERE ");
            for (var c = sets; c < table.Columns.Length; c++)
            {
                if (c > sets) sql.Append(" AND ");
                sql.Append(table.Columns[c].Name).Append(" = ").Append(Placeholder(p++));
            }
            sql.Append(";\n");
        }
        return sql.ToString();
    }

    private string Placeholder(int index) =>
        _helper!.GenerateParameterNamePlaceholder("p" + index.ToString(CultureInfo.InvariantCulture));

    private string ParameterName(int index)
    {
        if (index >= _parameterNames.Length)
        {
            _parameterNames = Enumerable.Range(0, Math.Max(2 * _parameterNames.Length, index + 1))
                .Select(i => _helper!.GenerateParameterName("p" + i.ToString(CultureInfo.InvariantCulture))).ToArray();
        }
        return _parameterNames[index];
    }

    private static DbCommand CreateCommand(DbContext db, string sql)
    {
        var command = db.Database.GetDbConnection().CreateCommand();
        command.Transaction = db.Database.CurrentTransaction?.GetDbTransaction();
        command.CommandText = sql;
        return command;
    }

    private void AddParameters<T>(DbCommand command, Table table, IReadOnlyList<T> rows, int start, int count) where T : class
    {
        var p = 0;
        for (var i = start; i < start + count; i++)
        {
            foreach (var column in table.Columns)
            {
                command.Parameters.Add(column.Mapping.CreateParameter(command, ParameterName(p++),
                    column.Getter.GetClrValueUsingContainingEntity(rows[i]), column.Property.IsNullable));
            }
        }
    }

    /// <summary>What <see cref="RelationalTypeMapping.CreateParameter"/> does with a value, on a parameter it made.</summary>
    private static void SetValues<T>(DbCommand command, Table table, IReadOnlyList<T> rows, int start, int count) where T : class
    {
        var p = 0;
        for (var i = start; i < start + count; i++)
        {
            foreach (var column in table.Columns) command.Parameters[p++].Value = ProviderValue(column, rows[i]) ?? DBNull.Value;
        }
    }
}
