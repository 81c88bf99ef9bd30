namespace Exchange.Engine;

/// <summary>
/// US dollars as a whole number of cents. Balances, margins and realized PnL live at this
/// scale, so every amount a trader sees is exact; finer results are floored (never credited).
/// </summary>
public readonly record struct Usd(long Cents) : IComparable<Usd>
{
    public const int Decimals = 2;
    public const long Scale = 100;

    public static readonly Usd Zero = new(0);

    public decimal ToDecimal() => Cents / (decimal)Scale;

    public static Usd FromDecimal(decimal amount) => new(checked((long)(amount * Scale)));

    public static Usd operator +(Usd a, Usd b) => new(a.Cents + b.Cents);
    public static Usd operator -(Usd a, Usd b) => new(a.Cents - b.Cents);
    public static Usd operator -(Usd a) => new(-a.Cents);
    public static bool operator <(Usd a, Usd b) => a.Cents < b.Cents;
    public static bool operator >(Usd a, Usd b) => a.Cents > b.Cents;
    public static bool operator <=(Usd a, Usd b) => a.Cents <= b.Cents;
    public static bool operator >=(Usd a, Usd b) => a.Cents >= b.Cents;
    public static Usd Max(Usd a, Usd b) => a.Cents >= b.Cents ? a : b;

    public int CompareTo(Usd other) => Cents.CompareTo(other.Cents);
    public override string ToString() => ToDecimal().ToString("0.00", System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>A price in USD with 8 decimals (the finest any of our feeds quotes).</summary>
public readonly record struct Price(long Raw) : IComparable<Price>
{
    public const int Decimals = 8;
    public const long Scale = 100_000_000;

    public static readonly Price None = new(0);

    /// <summary>
    /// The highest quote a tick may carry (about 23 billion USD): a SHORT's liquidation price is
    /// up to twice its open price and must still fit a long. A feed beyond it is broken.
    /// </summary>
    public static readonly Price MaxQuote = new(long.MaxValue / 4);

    public bool IsSet => Raw > 0;
    public decimal ToDecimal() => Raw / (decimal)Scale;

    public static Price FromDecimal(decimal price) => new(checked((long)(price * Scale)));

    public static bool operator <(Price a, Price b) => a.Raw < b.Raw;
    public static bool operator >(Price a, Price b) => a.Raw > b.Raw;
    public static bool operator <=(Price a, Price b) => a.Raw <= b.Raw;
    public static bool operator >=(Price a, Price b) => a.Raw >= b.Raw;

    public int CompareTo(Price other) => Raw.CompareTo(other.Raw);
    public override string ToString() => ToDecimal().ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>An amount of the base asset with 8 decimals (satoshi precision for BTC).</summary>
public readonly record struct Quantity(long Raw)
{
    public const int Decimals = 8;
    public const long Scale = 100_000_000;

    public decimal ToDecimal() => Raw / (decimal)Scale;
    public override string ToString() => ToDecimal().ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>
/// The position arithmetic of DESIGN §2.2 in fixed point. Every division says which way it
/// rounds, and each direction is the one that cannot credit a trader with money the house
/// did not lose.
/// </summary>
public static class PositionMath
{
    // price (1e-8) × quantity (1e-8) → cents (1e-2)
    private const long PriceTimesQuantityToCents = Price.Scale * Quantity.Scale / Usd.Scale;

    /// <summary>
    /// quantity = notional / openPrice, floored to 1e-8. False when the position is too large
    /// for the scale (or rounds to nothing): such a trade is refused, never wrapped around.
    /// </summary>
    public static bool TryQuantityFor(Usd notional, Price openPrice, out Quantity quantity)
    {
        var q = (Int128)notional.Cents * (Price.Scale * Quantity.Scale / Usd.Scale) / openPrice.Raw;
        quantity = q > 0 && q <= long.MaxValue ? new Quantity((long)q) : default;
        return quantity.Raw > 0;
    }

    /// <summary>LONG: (exit − open) × qty; SHORT: (open − exit) × qty; floored to the cent.</summary>
    public static Usd Pnl(Direction direction, Price openPrice, Price exitPrice, Quantity quantity)
    {
        var diff = direction == Direction.Long ? exitPrice.Raw - openPrice.Raw : openPrice.Raw - exitPrice.Raw;
        var cents = FloorDiv((Int128)diff * quantity.Raw, PriceTimesQuantityToCents);
        // Only an absurd feed price can get here; saturating keeps the books balanced (the house takes the same number).
        return new Usd((long)Int128.Clamp(cents, -MaxPnlCents, MaxPnlCents));
    }

    /// <summary>
    /// LONG <c>open × (1 − 1/L + mmr)</c> rounded up, SHORT <c>open × (1 + 1/L − mmr)</c>
    /// rounded down: either way the trade is liquidated a hair early, never late.
    /// mmr is in parts per million.
    /// </summary>
    public static Price LiquidationPrice(Direction direction, Price openPrice, int leverage, int mmrPpm)
    {
        const long million = 1_000_000;
        var denominator = (Int128)leverage * million;
        if (direction == Direction.Long)
        {
            var numerator = (Int128)openPrice.Raw * (leverage * million - million + (long)leverage * mmrPpm);
            return new Price((long)CeilDiv(numerator, denominator));
        }
        else
        {
            var numerator = (Int128)openPrice.Raw * (leverage * million + million - (long)leverage * mmrPpm);
            return new Price((long)FloorDiv(numerator, denominator));
        }
    }

    private const long MaxPnlCents = long.MaxValue / 4;

    private static Int128 FloorDiv(Int128 a, long b)
    {
        var q = a / b;
        if (a % b != 0 && a < 0) q--;
        return q;
    }

    private static Int128 CeilDiv(Int128 a, Int128 b)
    {
        var q = a / b;
        if (a % b != 0 && a > 0) q++;
        return q;
    }

    private static Int128 FloorDiv(Int128 a, Int128 b)
    {
        var q = a / b;
        if (a % b != 0 && a < 0) q--;
        return q;
    }
}
