using System.Globalization;

namespace Exchange.Engine;

/// <summary>
/// A trade's id, stamped by the server before the command enters the log (the engine has no
/// clock or randomness): 48 bits of Unix milliseconds then 80 random bits, so ids sort by
/// creation time. Written as 32 lowercase hex digits.
/// </summary>
public readonly record struct TradeId(UInt128 Value) : IComparable<TradeId>
{
    public int CompareTo(TradeId other) => Value.CompareTo(other.Value);

    public override string ToString() => Value.ToString("x32", CultureInfo.InvariantCulture);

    public static bool TryParse(string? text, out TradeId id)
    {
        id = default;
        if (text is not { Length: 32 } ||
            !UInt128.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value))
            return false;
        id = new TradeId(value);
        return true;
    }
}

/// <summary>A trader: the id of the user that owns an account.</summary>
public readonly record struct UserId(Guid Value) : IComparable<UserId>
{
    public int CompareTo(UserId other) => Value.CompareTo(other.Value);
    public override string ToString() => Value.ToString();

    /// <summary>The guid's 16 bytes as one number, for the engine's hash tables.</summary>
    internal UInt128 Bits => System.Runtime.CompilerServices.Unsafe.BitCast<Guid, UInt128>(Value);
}

/// <summary>Index of an asset in <see cref="EngineConfig.Assets"/>.</summary>
public readonly record struct AssetId(int Index);

public enum Direction : byte
{
    Long = 1,
    Short = 2,
}

/// <summary>Why a trade was closed. Values are written to logs and the database: only ever add.</summary>
public enum CloseReason : byte
{
    Manual = 1,
    StopLoss = 2,
    TakeProfit = 3,
    Liquidation = 4,
}
