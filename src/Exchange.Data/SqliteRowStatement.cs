using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Exchange.Data;

/// <summary>
/// One prepared SQLite statement, run once per row with its values bound by position through
/// SQLite's own API. Microsoft.Data.Sqlite binds every parameter by name, and SQLite finds a name
/// by comparing it with each parameter before it; with multi-row statements that search, the
/// per-value strings and the per-call handle bookkeeping were the larger part of recording a
/// command (docs/benchmarks.md, tenth pass). A single-row statement re-run costs SQLite next to
/// nothing extra.
/// <para>
/// Values are bound as Microsoft.Data.Sqlite binds them, or EF Core's queries would miss them:
/// integers as INTEGER, strings as UTF-8 TEXT, decimals as invariant TEXT with at least one
/// decimal place, Guids as upper-case TEXT. BulkWriterTests compares the stored values with
/// those SaveChanges stores.
/// </para>
/// </summary>
internal sealed class SqliteRowStatement : IDisposable
{
    // Microsoft.Data.Sqlite's own format for decimals: fixed point, no exponent, trailing zeros dropped.
    private const string DecimalFormat = "0.0###########################";

    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _statement;
    private byte[] _text = new byte[128];

    private SqliteRowStatement(sqlite3 db, sqlite3_stmt statement)
    {
        _db = db;
        _statement = statement;
    }

    /// <summary>Prepares <paramref name="sql"/> on an open connection (inside its current transaction, if any).</summary>
    public static SqliteRowStatement Prepare(SqliteConnection connection, string sql)
    {
        var db = connection.Handle ?? throw new InvalidOperationException("The SQLite connection is not open.");
        var rc = raw.sqlite3_prepare_v2(db, sql, out var statement);
        if (rc != raw.SQLITE_OK)
        {
            statement?.Dispose();
            throw Error(db, rc);
        }
        return new SqliteRowStatement(db, statement);
    }

    /// <summary>Binds <paramref name="values"/> to parameters 1..n and runs the statement once.</summary>
    public void Run(ReadOnlySpan<object?> values)
    {
        for (var i = 0; i < values.Length; i++) Check(Bind(i + 1, values[i]));
        var rc = raw.sqlite3_step(_statement);
        raw.sqlite3_reset(_statement);
        if (rc != raw.SQLITE_DONE) throw Error(_db, rc);
    }

    public void Dispose() => _statement.Dispose();

    private int Bind(int index, object? value)
    {
        switch (value)
        {
            case null:
                return raw.sqlite3_bind_null(_statement, index);
            case string s:
                return BindText(index, s);
            case long l:
                return raw.sqlite3_bind_int64(_statement, index, l);
            case int n:
                return raw.sqlite3_bind_int64(_statement, index, n);
            case decimal d:
                {
                    Span<byte> utf8 = stackalloc byte[64];
                    return raw.sqlite3_bind_text(_statement, index, utf8[..FormatDecimal(d, utf8)]);
                }
            case Guid g:
                {
                    Span<byte> utf8 = stackalloc byte[36];
                    g.TryFormat(utf8, out _, "D");
                    for (var i = 0; i < utf8.Length; i++)
                    {
                        if (utf8[i] is >= (byte)'a' and <= (byte)'f') utf8[i] -= 'a' - 'A';
                    }
                    return raw.sqlite3_bind_text(_statement, index, utf8);
                }
            default:
                // Not in the model today; binding it some other way than Microsoft.Data.Sqlite would store a value EF cannot find.
                throw new NotSupportedException($"{value.GetType().Name} values are not bound by {nameof(SqliteRowStatement)}.");
        }
    }

    /// <summary>
    /// <paramref name="value"/> in <see cref="DecimalFormat"/>, as UTF-8; returns the length. The
    /// format's general path was the recorder's largest managed cost, so a value whose digits fit
    /// in 64 bits (every amount and price here) is written from its integer digits and scale
    /// directly: the format has room for every decimal's 28 places, so nothing rounds.
    /// </summary>
    internal static int FormatDecimal(decimal value, Span<byte> utf8)
    {
        Span<int> bits = stackalloc int[4];
        decimal.GetBits(value, bits);
        var digits = ((ulong)(uint)bits[1] << 32) | (uint)bits[0];
        if (bits[2] != 0 || digits == 0)
        {
            // Beyond 64 bits, or zero (whose sign the general path decides): the general path.
            if (!value.TryFormat(utf8, out var formatted, DecimalFormat, CultureInfo.InvariantCulture))
                throw new InvalidOperationException($"Decimal {value} does not fit its buffer.");
            return formatted;
        }
        var scale = value.Scale;
        Span<byte> text = stackalloc byte[20];
        digits.TryFormat(text, out var length, default, CultureInfo.InvariantCulture);
        var at = 0;
        if (decimal.IsNegative(value)) utf8[at++] = (byte)'-';
        var whole = length - scale;
        if (whole > 0)
        {
            text[..whole].CopyTo(utf8[at..]);
            at += whole;
        }
        else
        {
            utf8[at++] = (byte)'0';
        }
        utf8[at++] = (byte)'.';
        // The places: zeros the digits do not reach, then the digits without trailing zeros, at least one place.
        for (var zero = whole; zero < 0; zero++) utf8[at++] = (byte)'0';
        var first = Math.Max(whole, 0);
        var last = length;
        while (last > first && text[last - 1] == (byte)'0') last--;
        if (last > first)
        {
            text[first..last].CopyTo(utf8[at..]);
            at += last - first;
        }
        else
        {
            utf8[at++] = (byte)'0'; // a whole number (digits are never all zeros here)
        }
        return at;
    }

    private int BindText(int index, string s)
    {
        var length = Encoding.UTF8.GetMaxByteCount(s.Length);
        if (length > _text.Length) _text = new byte[Math.Max(length, 2 * _text.Length)];
        var written = Encoding.UTF8.GetBytes(s, _text);
        return raw.sqlite3_bind_text(_statement, index, _text.AsSpan(0, written));
    }

    private void Check(int rc)
    {
        if (rc != raw.SQLITE_OK) throw Error(_db, rc);
    }

    private static SqliteException Error(sqlite3 db, int rc) =>
        new(raw.sqlite3_errmsg(db).utf8_to_string(), rc, raw.sqlite3_extended_errcode(db));
}
