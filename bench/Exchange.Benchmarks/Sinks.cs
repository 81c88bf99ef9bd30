using System.Buffers.Binary;
using Exchange.Engine;

namespace Exchange.Benchmarks;

/// <summary>Drops everything: the benchmarks measure the engine, not a consumer.</summary>
internal sealed class NoOpSink : IEngineSink
{
    public void OnReply(in CommandReply reply) { }
    public void OnAccountCreated(in AccountCreated e) { }
    public void OnTradeOpened(in TradeOpened e) { }
    public void OnTradeClosed(in TradeClosed e) { }
    public void OnBalanceChanged(in BalanceChanged e) { }
}

/// <summary>Counts rejections and closes; used in setup to prove the workload is what it claims.</summary>
internal sealed class CheckingSink : IEngineSink
{
    public long Replies;
    public long Rejected;
    public long Closed;
    public RejectCode FirstRejection;

    public void OnReply(in CommandReply reply)
    {
        Replies++;
        if (reply.Accepted) return;
        if (Rejected++ == 0) FirstRejection = reply.Code;
    }

    public void OnAccountCreated(in AccountCreated e) { }
    public void OnTradeOpened(in TradeOpened e) { }
    public void OnTradeClosed(in TradeClosed e) => Closed++;
    public void OnBalanceChanged(in BalanceChanged e) { }

    public void Expect(long replies, long closed, string what)
    {
        if (Rejected != 0)
            throw new InvalidOperationException($"{what}: {Rejected} of {Replies} commands were rejected, first {FirstRejection}.");
        if (Replies != replies || Closed != closed)
            throw new InvalidOperationException($"{what}: expected {replies} replies and {closed} closes, got {Replies} and {Closed}.");
    }
}

/// <summary>Shared market set-up: accounts and a fresh book for BTC, ETH and SOL.</summary>
internal static class Market
{
    public const long Now = 1_700_000_000_000;
    public static readonly string[] Symbols = ["BTC_USDC", "ETH_USDC", "SOL_USDC"];

    /// <summary>Bid and ask per asset, in whole dollars and cents.</summary>
    public static readonly (decimal Bid, decimal Ask)[] Books = [(60_000.00m, 60_000.50m), (3_000.00m, 3_000.05m), (150.00m, 150.01m)];

    /// <summary>
    /// The n-th trader: a random-looking guid as the server's <c>Guid.NewGuid()</c> gives, the
    /// same for the same n. Sequential guids would flatter a table that hashes neighbours into
    /// neighbouring buckets while the benchmark walks accounts in order.
    /// </summary>
    public static UserId User(int n)
    {
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, Mix((ulong)n));
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[8..], Mix((ulong)n + 0x5851_F42D_4C95_7F2D));
        return new UserId(new Guid(bytes));
    }

    // SplitMix64's finalizer: a bijection, so different n give different users.
    private static ulong Mix(ulong x)
    {
        x = (x ^ (x >> 30)) * 0xBF58_476D_1CE4_E5B9;
        x = (x ^ (x >> 27)) * 0x94D0_49BB_1331_11EB;
        return x ^ (x >> 31);
    }

    public static void Open(TradingEngine engine, ref long sequence, int accounts, IEngineSink sink)
    {
        for (var i = 0; i < accounts; i++)
            engine.Apply(EngineInput.CreateAccount(++sequence, Now, User(i)), sink);
        for (var a = 0; a < Books.Length; a++)
            engine.Apply(EngineInput.Tick(++sequence, Now, new AssetId(a),
                Price.FromDecimal(Books[a].Bid), Price.FromDecimal(Books[a].Ask)), sink);
    }
}
