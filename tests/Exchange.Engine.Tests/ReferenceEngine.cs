using System.Numerics;

namespace Exchange.Engine.Tests;

/// <summary>
/// An exact rational number, so the reference model can write the formulas of DESIGN §2.2
/// as they read (open × (1 − 1/L + mmr)) and round once, at the end, the documented way.
/// </summary>
public readonly record struct Fraction
{
    public BigInteger Numerator { get; }
    public BigInteger Denominator { get; }

    public Fraction(BigInteger numerator, BigInteger denominator)
    {
        if (denominator.IsZero) throw new DivideByZeroException();
        if (denominator.Sign < 0) (numerator, denominator) = (-numerator, -denominator);
        var gcd = BigInteger.GreatestCommonDivisor(numerator, denominator);
        if (!gcd.IsZero && !gcd.IsOne) (numerator, denominator) = (numerator / gcd, denominator / gcd);
        Numerator = numerator;
        Denominator = denominator;
    }

    public static Fraction Whole(BigInteger value) => new(value, BigInteger.One);

    public static Fraction operator +(Fraction a, Fraction b) =>
        new(a.Numerator * b.Denominator + b.Numerator * a.Denominator, a.Denominator * b.Denominator);
    public static Fraction operator -(Fraction a, Fraction b) =>
        new(a.Numerator * b.Denominator - b.Numerator * a.Denominator, a.Denominator * b.Denominator);
    public static Fraction operator *(Fraction a, Fraction b) => new(a.Numerator * b.Numerator, a.Denominator * b.Denominator);
    public static Fraction operator /(Fraction a, Fraction b) => new(a.Numerator * b.Denominator, a.Denominator * b.Numerator);

    /// <summary>Largest integer ≤ this (towards negative infinity).</summary>
    public BigInteger Floor()
    {
        var quotient = BigInteger.DivRem(Numerator, Denominator, out var remainder);
        return remainder.Sign < 0 ? quotient - 1 : quotient;
    }

    /// <summary>Smallest integer ≥ this.</summary>
    public BigInteger Ceiling() => -new Fraction(-Numerator, Denominator).Floor();
}

/// <summary>
/// A deliberately naive model of the trading rules of DESIGN §2.2, written from the rules and
/// not from the engine: plain lists, a full scan of all open trades on every tick, exact
/// rational arithmetic rounded the documented way. It speaks the engine's input and output
/// types so the two can be compared reply by reply and event by event.
/// </summary>
public sealed class ReferenceEngine
{
    private static readonly Fraction PriceUnit = new(1, 100_000_000);   // 1e-8 USD
    private static readonly Fraction QuantityUnit = new(1, 100_000_000); // 1e-8 of the asset
    private static readonly Fraction Cent = new(1, 100);
    private const decimal HighestTriggerPrice = 1_000_000_000m;

    private sealed class Account(UserId user, long free)
    {
        public UserId User { get; } = user;
        public long Free { get; set; } = free;
        public long Locked { get; set; }
    }

    private sealed class Book(string symbol)
    {
        public string Symbol { get; } = symbol;
        public long Bid { get; set; }
        public long Ask { get; set; }
        public long TimestampMs { get; set; }
    }

    private readonly EngineConfig _config;
    private readonly List<Account> _accounts = [];
    private readonly List<TradeView> _trades = [];
    private readonly Book[] _books;

    public ReferenceEngine(EngineConfig config)
    {
        _config = config;
        _books = config.Assets.Select(a => new Book(a.Symbol)).ToArray();
    }

    public long LastSequence { get; private set; }
    public long EventSequence { get; private set; }
    public long InsuranceFundCents { get; private set; }
    public long HousePnlCents { get; private set; }
    public long TotalDepositsCents { get; private set; }
    public long IgnoredTicks { get; private set; }

    public IReadOnlyList<TradeView> OpenTrades => _trades;

    public IEnumerable<(UserId User, long Free, long Locked)> Balances => _accounts.Select(a => (a.User, a.Free, a.Locked));

    // ---- the formulas of DESIGN §2.2 -------------------------------------------------------

    private static Fraction Dollars(long raw) => Fraction.Whole(raw) * PriceUnit;

    /// <summary>quantity = notional / openPrice, floored to 1e-8.</summary>
    public static long QuantityOf(long marginCents, int leverage, long openPriceRaw)
    {
        var notional = Fraction.Whole(marginCents) * Cent * Fraction.Whole(leverage);
        var quantity = notional / Dollars(openPriceRaw);
        var units = (quantity / QuantityUnit).Floor();
        return units > long.MaxValue ? 0 : (long)units;
    }

    /// <summary>LONG (exit − open) × qty, SHORT (open − exit) × qty, floored to the cent.</summary>
    public static long Pnl(Direction direction, long openRaw, long exitRaw, long quantityRaw)
    {
        var move = direction == Direction.Long ? Dollars(exitRaw) - Dollars(openRaw) : Dollars(openRaw) - Dollars(exitRaw);
        var pnl = move * (Fraction.Whole(quantityRaw) * QuantityUnit);
        return (long)(pnl / Cent).Floor();
    }

    /// <summary>LONG open × (1 − 1/L + mmr) rounded up; SHORT open × (1 + 1/L − mmr) rounded down; to 1e-8.</summary>
    public static long LiquidationPrice(Direction direction, long openRaw, int leverage, int mmrPpm)
    {
        var one = Fraction.Whole(1);
        var inverseLeverage = new Fraction(1, leverage);
        var mmr = new Fraction(mmrPpm, 1_000_000);
        if (direction == Direction.Long)
            return (long)(Dollars(openRaw) * (one - inverseLeverage + mmr) / PriceUnit).Ceiling();
        return (long)(Dollars(openRaw) * (one + inverseLeverage - mmr) / PriceUnit).Floor();
    }

    // ---- inputs -----------------------------------------------------------------------------

    public bool Apply(in EngineInput input, IEngineSink sink)
    {
        if (input.Kind is InputKind.GetBalance or InputKind.GetUsdBalance or InputKind.GetOpenTrades)
        {
            Query(in input, sink);
            return true;
        }
        if (input.Sequence <= LastSequence) return false;
        LastSequence = input.Sequence;
        switch (input.Kind)
        {
            case InputKind.PriceTick: Tick(in input, sink); break;
            case InputKind.CreateAccount: CreateAccount(in input, sink); break;
            case InputKind.CreateTrade: CreateTrade(in input, sink); break;
            case InputKind.CloseTrade: CloseTrade(in input, sink); break;
            default: Reject(in input, RejectCode.UnknownCommand, sink); break;
        }
        return true;
    }

    private Account? FindAccount(UserId user) => _accounts.Find(a => a.User == user);

    private static CommandReply Reply(in EngineInput input) =>
        new() { Kind = input.Kind, Sequence = input.Sequence, OrderId = input.OrderId, User = input.User };

    private static void Reject(in EngineInput input, RejectCode code, IEngineSink sink) =>
        sink.OnReply(Reply(in input) with { Code = code });

    private EventHeader Header(in EngineInput input) =>
        new(++EventSequence, input.Sequence, input.TimestampMs, input.OrderId);

    private void Query(in EngineInput input, IEngineSink sink)
    {
        var account = FindAccount(input.User);
        if (account is null)
        {
            Reject(in input, RejectCode.AccountNotFound, sink);
            return;
        }
        var mine = _trades.Where(t => t.Owner == account.User).OrderBy(t => t.OpenSequence).ToList();
        var equity = account.Free;
        foreach (var t in mine) equity += Math.Max(0, t.Margin.Cents + Pnl(t.Direction, t.OpenPrice.Raw, Mark(t), t.Quantity.Raw));
        var reply = Reply(in input) with { Free = new(account.Free), Locked = new(account.Locked), Equity = new(equity) };
        if (input.Kind == InputKind.GetOpenTrades)
        {
            reply = reply with
            {
                OpenTrades = mine.Select(t => new OpenTradeValuation(t, new Price(Mark(t)),
                    new Usd(Pnl(t.Direction, t.OpenPrice.Raw, Mark(t), t.Quantity.Raw)))).ToArray(),
            };
        }
        sink.OnReply(reply);
    }

    /// <summary>The price a trade would close at now: the bid for a LONG, the ask for a SHORT.</summary>
    private long Mark(TradeView t) => t.Direction == Direction.Long ? _books[t.Asset.Index].Bid : _books[t.Asset.Index].Ask;

    private void CreateAccount(in EngineInput input, IEngineSink sink)
    {
        if (FindAccount(input.User) is not null)
        {
            Reject(in input, RejectCode.AccountExists, sink);
            return;
        }
        var deposit = _config.InitialBalance.Cents;
        _accounts.Add(new Account(input.User, deposit));
        TotalDepositsCents += deposit;
        sink.OnAccountCreated(new AccountCreated(Header(in input), input.User, new Usd(deposit)));
        sink.OnBalanceChanged(new BalanceChanged(Header(in input), input.User, new Usd(deposit), Usd.Zero));
        sink.OnReply(Reply(in input) with { InitialBalance = new(deposit), Free = new(deposit), Equity = new(deposit) });
    }

    private int FindAsset(string? symbol)
    {
        for (var i = 0; i < _books.Length; i++)
            if (symbol is not null && symbol.Equals(_books[i].Symbol, StringComparison.OrdinalIgnoreCase)) return i;
        return -1;
    }

    private static bool HasAtMostDecimals(decimal value, int decimals) => decimal.Round(value, decimals) == value;

    /// <summary>A trigger price is valid when absent, or positive, at most 1e9 and with at most 8 decimals.</summary>
    private static bool IsValidTrigger(decimal? value) =>
        value is not { } v || (v > 0 && v <= HighestTriggerPrice && HasAtMostDecimals(v, 8));

    private static long TriggerRaw(decimal? value) => value is { } v ? (long)(v * 100_000_000m) : 0;

    private void CreateTrade(in EngineInput input, IEngineSink sink)
    {
        var code = CheckNewTrade(in input, out var trade);
        if (code != RejectCode.None)
        {
            Reject(in input, code, sink);
            return;
        }
        var account = FindAccount(input.User)!;
        _trades.Add(trade);
        account.Free -= trade.Margin.Cents;
        account.Locked += trade.Margin.Cents;
        sink.OnTradeOpened(new TradeOpened(Header(in input), trade));
        sink.OnBalanceChanged(new BalanceChanged(Header(in input), account.User, new(account.Free), new(account.Locked)));
        sink.OnReply(Reply(in input) with { Trade = trade, Free = new(account.Free), Locked = new(account.Locked) });
    }

    /// <summary>The checks of a new trade, in the order the engine documents (ValidateNewTrade).</summary>
    private RejectCode CheckNewTrade(in EngineInput input, out TradeView trade)
    {
        trade = default;
        var account = FindAccount(input.User);
        if (account is null) return RejectCode.AccountNotFound;
        var asset = FindAsset(input.Symbol);
        if (asset < 0) return RejectCode.UnknownAsset;
        if (input.Direction != Direction.Long && input.Direction != Direction.Short) return RejectCode.InvalidDirection;
        var spec = _config.Assets[asset];
        var book = _books[asset];

        if (!HasAtMostDecimals(input.Leverage, 0)) return RejectCode.LeverageNotInteger;
        if (input.Leverage < 1 || input.Leverage > spec.MaxLeverage) return RejectCode.LeverageOutOfRange;
        var leverage = (int)input.Leverage;

        if (input.Margin <= 0) return RejectCode.MarginNotPositive;
        if (input.Margin > spec.MaxMargin.Cents / 100m) return RejectCode.MarginAboveMaximum;
        if (!HasAtMostDecimals(input.Margin, 2)) return RejectCode.MarginTooPrecise;
        var margin = (long)(input.Margin * 100);
        if (margin < spec.MinMargin.Cents) return RejectCode.MarginBelowMinimum;
        if (margin > account.Free) return RejectCode.InsufficientBalance;

        if (!IsValidTrigger(input.StopLossPrice) || !IsValidTrigger(input.TakeProfitPrice)) return RejectCode.TriggerPriceInvalid;
        var stopLoss = TriggerRaw(input.StopLossPrice);
        var takeProfit = TriggerRaw(input.TakeProfitPrice);

        if (book.Bid <= 0) return RejectCode.NoPrice;
        if (input.TimestampMs - book.TimestampMs > _config.PriceMaxAgeMs) return RejectCode.PriceStale;

        var isLong = input.Direction == Direction.Long;
        var open = isLong ? book.Ask : book.Bid;
        var closing = isLong ? book.Bid : book.Ask;
        var stopLossLimit = input.StopLossCheckedAgainstOpenPrice ? open : closing;
        if (stopLoss != 0 && (isLong ? stopLoss >= stopLossLimit : stopLoss <= stopLossLimit)) return RejectCode.StopLossWrongSide;
        if (takeProfit != 0 && (isLong ? takeProfit <= open : takeProfit >= open)) return RejectCode.TakeProfitWrongSide;

        if (QuantityOf(margin, leverage, open) <= 0) return RejectCode.PositionTooLarge;
        var liquidation = LiquidationPrice(input.Direction, open, leverage, spec.MaintenanceMarginPpm);
        if (isLong ? closing <= liquidation : closing >= liquidation) return RejectCode.WouldBeLiquidatedAtOnce;
        if (stopLoss != 0 && !input.StopLossCheckedAgainstOpenPrice && (isLong ? stopLoss <= liquidation : stopLoss >= liquidation))
            return RejectCode.StopLossWrongSide;

        var id = input.TradeId;
        if (_trades.Exists(t => t.Id == id)) return RejectCode.TradeIdTaken;

        trade = new TradeView(id, input.User, new AssetId(asset), input.Direction, new Price(open),
            new Quantity(QuantityOf(margin, leverage, open)), new Usd(margin), leverage, new Price(liquidation),
            new Price(stopLoss), new Price(takeProfit), input.Sequence, input.TimestampMs);
        return RejectCode.None;
    }

    private void CloseTrade(in EngineInput input, IEngineSink sink)
    {
        var account = FindAccount(input.User);
        if (account is null)
        {
            Reject(in input, RejectCode.AccountNotFound, sink);
            return;
        }
        var id = input.TradeId;
        var index = _trades.FindIndex(t => t.Id == id);
        if (index < 0)
        {
            Reject(in input, RejectCode.TradeNotFound, sink);
            return;
        }
        var trade = _trades[index];
        if (trade.Owner != input.User)
        {
            Reject(in input, RejectCode.TradeNotOwned, sink);
            return;
        }
        if (input.TimestampMs - _books[trade.Asset.Index].TimestampMs > _config.PriceMaxAgeMs)
        {
            Reject(in input, RejectCode.PriceStale, sink);
            return;
        }
        var price = Mark(trade);
        var (pnl, payout) = Settle(trade, CloseReason.Manual, price, in input, sink);
        sink.OnReply(Reply(in input) with
        {
            Trade = trade,
            Close = new CloseResult(new Price(price), new Usd(pnl), new Usd(Math.Min(payout, trade.Margin.Cents)), new Usd(payout)),
            Free = new(account.Free),
            Locked = new(account.Locked),
        });
    }

    /// <summary>
    /// Pays out a closed trade: margin + PnL floored at zero to the trader (nothing on
    /// liquidation); the insurance fund takes a liquidated trade's equity (negative after a
    /// gap) or pays a manual/SL/TP close's loss beyond the margin; the house takes −PnL.
    /// </summary>
    private (long Pnl, long Payout) Settle(TradeView trade, CloseReason reason, long price, in EngineInput cause, IEngineSink sink)
    {
        var pnl = Pnl(trade.Direction, trade.OpenPrice.Raw, price, trade.Quantity.Raw);
        var equity = trade.Margin.Cents + pnl;
        long payout, toInsuranceFund;
        if (reason == CloseReason.Liquidation) (payout, toInsuranceFund) = (0, equity);
        else if (equity >= 0) (payout, toInsuranceFund) = (equity, 0);
        else (payout, toInsuranceFund) = (0, equity);

        _trades.RemoveAll(t => t.Id == trade.Id);
        var account = FindAccount(trade.Owner)!;
        account.Locked -= trade.Margin.Cents;
        account.Free += payout;
        InsuranceFundCents += toInsuranceFund;
        HousePnlCents -= pnl;

        sink.OnTradeClosed(new TradeClosed(Header(in cause), trade, reason, new Price(price), new Usd(pnl), new Usd(payout), new Usd(toInsuranceFund)));
        sink.OnBalanceChanged(new BalanceChanged(Header(in cause), account.User, new(account.Free), new(account.Locked)));
        return (pnl, payout);
    }

    private void Tick(in EngineInput tick, IEngineSink sink)
    {
        var asset = tick.Asset.Index;
        if (asset < 0 || asset >= _books.Length || tick.Bid.Raw <= 0 || tick.Ask.Raw < tick.Bid.Raw || tick.Ask.Raw > long.MaxValue / 4)
        {
            IgnoredTicks++;
            return;
        }
        var book = _books[asset];
        book.Bid = tick.Bid.Raw;
        book.Ask = tick.Ask.Raw;
        book.TimestampMs = tick.TimestampMs;

        // Scan every open trade of the asset and decide, from the rules alone, whether this tick closes it.
        var fired = new List<(int Phase, long Level, TradeView Trade, CloseReason Reason)>();
        foreach (var t in _trades)
        {
            if (t.Asset.Index != asset) continue;
            var hasStopLoss = t.StopLoss.Raw > 0;
            var hasTakeProfit = t.TakeProfit.Raw > 0;
            if (t.Direction == Direction.Long)
            {
                var bid = book.Bid;
                var stopLevel = hasStopLoss ? Math.Max(t.StopLoss.Raw, t.LiquidationPrice.Raw) : t.LiquidationPrice.Raw;
                if (bid <= stopLevel)
                    fired.Add((0, stopLevel, t, hasStopLoss && bid <= t.StopLoss.Raw ? CloseReason.StopLoss : CloseReason.Liquidation));
                else if (hasTakeProfit && bid >= t.TakeProfit.Raw)
                    fired.Add((1, t.TakeProfit.Raw, t, CloseReason.TakeProfit));
            }
            else
            {
                var ask = book.Ask;
                var stopLevel = hasStopLoss ? Math.Min(t.StopLoss.Raw, t.LiquidationPrice.Raw) : t.LiquidationPrice.Raw;
                if (ask >= stopLevel)
                    fired.Add((2, stopLevel, t, hasStopLoss && ask >= t.StopLoss.Raw ? CloseReason.StopLoss : CloseReason.Liquidation));
                else if (hasTakeProfit && ask <= t.TakeProfit.Raw)
                    fired.Add((3, t.TakeProfit.Raw, t, CloseReason.TakeProfit));
            }
        }

        // The documented firing order: LONG stops, LONG take-profits, SHORT stops, SHORT
        // take-profits; within each, the trigger the price reaches first, then the older trade.
        var ordered = fired
            .OrderBy(f => f.Phase)
            .ThenBy(f => f.Phase is 0 or 3 ? -f.Level : f.Level)
            .ThenBy(f => f.Trade.OpenSequence);
        foreach (var f in ordered)
            Settle(f.Trade, f.Reason, f.Trade.Direction == Direction.Long ? book.Bid : book.Ask, in tick, sink);
    }

    /// <summary>The model's state in the engine's image format, so the two can be compared by state hash.</summary>
    public StateImage CaptureImage()
    {
        var trades = _trades.ToArray();
        return new StateImage
        {
            LastSequence = LastSequence,
            EventSequence = EventSequence,
            InsuranceFund = new(InsuranceFundCents),
            HousePnl = new(HousePnlCents),
            TotalDeposits = new(TotalDepositsCents),
            IgnoredTicks = IgnoredTicks,
            Markets = _books.Select(b => new MarketImage(b.Symbol, new Price(b.Bid), new Price(b.Ask), b.TimestampMs)).ToArray(),
            Accounts = _accounts.Select(a => new AccountImage(a.User, new(a.Free), new(a.Locked))).ToArray(),
            TradeSlots = trades,
            TradeSlotCount = trades.Length,
        };
    }
}
