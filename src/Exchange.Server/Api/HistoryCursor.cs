using System.Globalization;

namespace Exchange.Server.Api;

/// <summary>
/// Where a page of closed trades ended: the last trade's close time and id, written
/// "closedAtMs.tradeId". A close time alone (how cursors looked before, and what a client may
/// type) means every trade closed before that millisecond.
/// </summary>
public readonly record struct HistoryCursor(long ClosedAtMs, string? TradeId)
{
    public override string ToString() => TradeId is null
        ? ClosedAtMs.ToString(CultureInfo.InvariantCulture)
        : string.Create(CultureInfo.InvariantCulture, $"{ClosedAtMs}.{TradeId}");

    /// <summary>False for text that is neither; <paramref name="cursor"/> is null for no text (the first page).</summary>
    public static bool TryParse(string? text, out HistoryCursor? cursor)
    {
        cursor = null;
        if (string.IsNullOrEmpty(text)) return true;
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        var time = dot < 0 ? text : text[..dot];
        if (!long.TryParse(time, NumberStyles.None, CultureInfo.InvariantCulture, out var closedAtMs)) return false;
        if (dot < 0)
        {
            cursor = new HistoryCursor(closedAtMs, null);
            return true;
        }
        // As stored: the trade id's canonical form, so that comparing the text orders them as the page did.
        var tradeId = text[(dot + 1)..];
        if (!Exchange.Engine.TradeId.TryParse(tradeId, out var id) || id.ToString() != tradeId) return false;
        cursor = new HistoryCursor(closedAtMs, tradeId);
        return true;
    }
}
