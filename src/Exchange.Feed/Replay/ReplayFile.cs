using System.Globalization;
using Exchange.Engine;

namespace Exchange.Feed.Replay;

/// <summary>One row of a replay file: when, relative to the file's first row, and the book.</summary>
public readonly record struct ReplayRow(long OffsetMs, string Symbol, Price Bid, Price Ask, int Line);

/// <summary>
/// Reads a replay CSV: the header <c>timestamp,asset,bid,ask</c>, then one row per quote with the
/// timestamp as Unix milliseconds or ISO 8601 UTC (either, row by row), prices as plain decimals
/// with at most 8 places. Blank lines are skipped.
/// <para>
/// The whole file is checked before anything plays, and the first bad row stops it with its line
/// number: a replay exists to be reproducible, and one that silently skipped rows would show a
/// market other than the one in the file.
/// </para>
/// </summary>
public static class ReplayFile
{
    public const string Header = "timestamp,asset,bid,ask";

    /// <summary>The rows for <paramref name="assets"/> (others are dropped) in file order, offsets from the first row.</summary>
    /// <exception cref="FeedConfigurationException">The file is missing, empty, or has a bad row; the message names the line.</exception>
    public static IReadOnlyList<ReplayRow> Load(string path, IReadOnlyCollection<string> assets)
    {
        ArgumentNullException.ThrowIfNull(path);
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw Error(path, $"cannot read the file: {e.Message}");
        }
        return Parse(lines, assets, path);
    }

    /// <inheritdoc cref="Load"/>
    public static IReadOnlyList<ReplayRow> Parse(IReadOnlyList<string> lines, IReadOnlyCollection<string> assets, string name = "replay")
    {
        ArgumentNullException.ThrowIfNull(lines);
        ArgumentNullException.ThrowIfNull(assets);
        var selected = new HashSet<string>(assets, StringComparer.OrdinalIgnoreCase);
        var first = FirstNonBlank(lines);
        if (first < 0)
            throw Error(name, "the file is empty; expected the header " + Header);
        var header = string.Join(',', lines[first].Split(',').Select(h => h.Trim()));
        if (!string.Equals(header, Header, StringComparison.OrdinalIgnoreCase))
            throw Error(name, $"line {first + 1}: expected the header '{Header}', got '{lines[first].Trim()}'");

        var rows = new List<ReplayRow>();
        long? start = null, previous = null;
        for (var i = first + 1; i < lines.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i]))
                continue;
            var line = i + 1;
            var fields = lines[i].Split(',');
            if (fields.Length != 4)
                throw Error(name, $"line {line}: expected 4 fields ({Header}), got {fields.Length}");

            var timestamp = ParseTimestamp(fields[0].Trim())
                ?? throw Error(name, $"line {line}: timestamp '{fields[0].Trim()}' is neither Unix milliseconds nor ISO 8601 UTC");
            if (timestamp < previous)
                throw Error(name, $"line {line}: timestamp goes back in time ({fields[0].Trim()})");
            previous = timestamp;

            var symbol = fields[1].Trim().ToUpperInvariant();
            if (symbol.Length == 0)
                throw Error(name, $"line {line}: no asset");
            var bid = ParsePrice(fields[2], "bid", line, name);
            var ask = ParsePrice(fields[3], "ask", line, name);
            if (!bid.IsSet || bid >= ask)
                throw Error(name, $"line {line}: bid {bid} and ask {ask} are not a valid book (need 0 < bid < ask)");

            start ??= timestamp;
            if (selected.Contains(symbol))
                rows.Add(new ReplayRow(timestamp - start.Value, symbol, bid, ask, line));
        }
        if (rows.Count == 0)
            throw Error(name, $"no rows for {string.Join(", ", assets)}");
        return rows;
    }

    private static readonly string[] IsoFormats =
    [
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK",
        "yyyy-MM-dd'T'HH:mmK",
        "yyyy-MM-dd HH:mm:ss.FFFFFFFK",
    ];

    /// <summary>Unix milliseconds when all digits; else ISO 8601, UTC when no offset is written.</summary>
    internal static long? ParseTimestamp(string text)
    {
        if (text.Length > 0 && text.All(char.IsAsciiDigit))
            return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var ms) ? ms : null;
        return DateTimeOffset.TryParseExact(text, IsoFormats, CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at)
            ? at.ToUnixTimeMilliseconds()
            : null;
    }

    private static Price ParsePrice(string field, string what, int line, string name) =>
        PriceText.TryParse(field.AsSpan().Trim(), out var price)
            ? price
            : throw Error(name, $"line {line}: {what} '{field.Trim()}' is not a price with at most {Price.Decimals} decimals");

    private static int FirstNonBlank(IReadOnlyList<string> lines)
    {
        for (var i = 0; i < lines.Count; i++)
            if (!string.IsNullOrWhiteSpace(lines[i]))
                return i;
        return -1;
    }

    private static FeedConfigurationException Error(string name, string problem) =>
        new("POLLER_SOURCE", $"replay file '{name}': {problem}");
}
