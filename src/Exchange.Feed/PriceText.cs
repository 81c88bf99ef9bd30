using Exchange.Engine;

namespace Exchange.Feed;

/// <summary>
/// Reads a price as exchanges and replay files write it ("95000.01", "0.00012300") straight into
/// the 1e-8 scale, digit by digit: no double and no decimal round trip, so what arrives is exact.
/// </summary>
internal static class PriceText
{
    /// <summary>
    /// Plain digits with an optional fraction. False for signs, exponents, spaces, an empty part
    /// around the point, a value past <see cref="long.MaxValue"/> at the scale, or a non-zero digit
    /// beyond the 8th decimal (it would have to be rounded). Zeros past the 8th decimal are exact
    /// and accepted. Zero itself parses: whether a zero price is acceptable is the caller's rule.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> utf8, out Price price)
    {
        price = default;
        var point = utf8.IndexOf((byte)'.');
        var whole = point < 0 ? utf8 : utf8[..point];
        var fraction = point < 0 ? [] : utf8[(point + 1)..];
        if (whole.IsEmpty || (point >= 0 && fraction.IsEmpty))
            return false;

        long raw = 0;
        foreach (var c in whole)
        {
            if (!IsDigit(c) || raw > (long.MaxValue - 9) / 10)
                return false;
            raw = raw * 10 + (c - '0');
        }
        if (raw > long.MaxValue / Price.Scale)
            return false;
        raw *= Price.Scale;

        long place = Price.Scale / 10;
        foreach (var c in fraction)
        {
            if (!IsDigit(c))
                return false;
            if (place == 0)
            {
                if (c != '0')
                    return false;
                continue;
            }
            var digit = (c - '0') * place;
            if (digit > long.MaxValue - raw)
                return false;
            raw += digit;
            place /= 10;
        }
        price = new Price(raw);
        return true;
    }

    public static bool TryParse(ReadOnlySpan<char> text, out Price price)
    {
        // Prices are short; anything long enough to need more than this is not a price.
        Span<byte> utf8 = stackalloc byte[64];
        if (text.Length > utf8.Length)
        {
            price = default;
            return false;
        }
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] > 127)
            {
                price = default;
                return false;
            }
            utf8[i] = (byte)text[i];
        }
        return TryParse(utf8[..text.Length], out price);
    }

    private static bool IsDigit(byte c) => c is >= (byte)'0' and <= (byte)'9';
}
