using System.Globalization;
using Exchange.Engine;
using Exchange.Journal;

namespace Exchange.Server;

/// <summary>
/// <c>Exchange.Server engine-stdio --data DIR</c>: the engine role alone, driven by lines on
/// stdin and answering on stdout. It exists so the crash test can SIGKILL a real engine
/// process mid-write and check what survives; it is also handy for scripting.
/// <code>
/// in:  acct TAG ORDER USER
///      open TAG ORDER USER TRADE SYMBOL LONG|SHORT MARGIN LEVERAGE
///      close TAG ORDER USER TRADE
///      tick ASSET BID ASK            (fixed-point raw prices, no answer)
///      hash TAG
/// out: ready SEQUENCE HASH           (after recovery)
///      ack TAG SEQUENCE CODE         (once the command is durable)
///      hash TAG SEQUENCE HASH CONSERVED
/// </code>
/// </summary>
internal static class EngineLineProtocol
{
    public static async Task<int> RunAsync(string[] args)
    {
        var dataDir = args is ["--data", var d, ..] ? d : "./data";
        var snapshotMs = args is [_, _, "--snapshot-ms", var s, ..] ? long.Parse(s, CultureInfo.InvariantCulture) : 15_000;
        using var host = EngineHost.Start(new EngineHostOptions
        {
            DataDirectory = dataDir, SnapshotIntervalMs = snapshotMs, TrimJournal = false,
        });
        var output = Console.Out;
        var gate = new Lock();
        void Write(string line)
        {
            lock (gate)
            {
                output.WriteLine(line);
                output.Flush();
            }
        }

        Write($"ready {host.Recovery.LastSequence} {await host.Recovery.StateHash}");
        var pending = new List<Task>();
        while (await Console.In.ReadLineAsync() is { } line)
        {
            var f = line.Split(' ');
            switch (f[0])
            {
                case "tick":
                    host.SubmitTick(new AssetId(int.Parse(f[1], CultureInfo.InvariantCulture)),
                        new Price(long.Parse(f[2], CultureInfo.InvariantCulture)), new Price(long.Parse(f[3], CultureInfo.InvariantCulture)));
                    break;
                case "hash":
                    var tag = f[1];
                    var (sequence, hash, conserved) = await host.ReadAsync(e => (e.LastSequence, e.StateHash(), IsConserved(e)));
                    Write($"hash {tag} {sequence} {hash} {conserved}");
                    break;
                default:
                    var input = Parse(f);
                    var ackTag = f[1];
                    pending.Add(host.SubmitAsync(input).ContinueWith(
                        t => Write($"ack {ackTag} {t.Result.Sequence} {t.Result.Code.Name()}"), TaskScheduler.Default));
                    break;
            }
        }
        await Task.WhenAll(pending);
        return 0;
    }

    private static EngineInput Parse(string[] f)
    {
        var input = new EngineInput { OrderId = Guid.Parse(f[2]), User = new UserId(Guid.Parse(f[3])) };
        switch (f[0])
        {
            case "acct":
                input.Kind = InputKind.CreateAccount;
                break;
            case "open":
                input.Kind = InputKind.CreateTrade;
                input.TradeId = new TradeId(UInt128.Parse(f[4], NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                input.Symbol = f[5];
                input.Direction = f[6] == "LONG" ? Direction.Long : Direction.Short;
                input.Margin = decimal.Parse(f[7], CultureInfo.InvariantCulture);
                input.Leverage = decimal.Parse(f[8], CultureInfo.InvariantCulture);
                break;
            case "close":
                input.Kind = InputKind.CloseTrade;
                input.TradeId = new TradeId(UInt128.Parse(f[4], NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                break;
            default:
                throw new FormatException($"Unknown line: {string.Join(' ', f)}");
        }
        return input;
    }

    /// <summary>Σ free + Σ locked + insurance fund + house PnL = Σ deposits.</summary>
    public static bool IsConserved(TradingEngine engine)
    {
        var image = engine.CaptureImage();
        var held = image.Accounts.Aggregate(Usd.Zero, (sum, a) => sum + a.Free + a.Locked);
        var noneNegative = image.Accounts.All(a => a.Free >= Usd.Zero && a.Locked >= Usd.Zero);
        return noneNegative && held + engine.InsuranceFund + engine.HousePnl == engine.TotalDeposits;
    }
}
