// The engine's worked examples (tests/Exchange.Engine.Tests/WorkedExampleTests.cs and
// TradingRuleTests.cs), to the cent and to 1e-8, through the same BigInt maths the ticket uses.
import { describe, expect, it } from 'vitest';
import { formatFixed, parseFixed, PRICE_SCALE, QTY_SCALE, USD_SCALE } from './fixed';
import {
  closingPrice, equityFor, liquidationPriceFor, mmrToPpm, openingPrice, payoutFor, pnlFor, previewOrder, quantityFor,
  type Direction,
} from './positionMath';

const price = (s: string) => parseFixed(s, PRICE_SCALE)!;
const usd = (s: string) => parseFixed(s, USD_SCALE)!;
const showUsd = (c: bigint) => formatFixed(c, USD_SCALE, { minDecimals: 2 });
const showPrice = (p: bigint) => formatFixed(p, PRICE_SCALE, { minDecimals: 2 });
const showQty = (q: bigint) => formatFixed(q, QTY_SCALE);
const MMR = mmrToPpm('0.005');

function open(direction: Direction, bid: string, ask: string, margin: string, leverage: number) {
  const entry = openingPrice(direction, price(bid), price(ask));
  const quantity = quantityFor(usd(margin), leverage, entry);
  const liq = liquidationPriceFor(direction, entry, leverage, MMR);
  return { entry, quantity, liq };
}

describe('worked examples from the engine', () => {
  it('SOL 10x LONG at 240.00 with 1,000 margin: qty, liquidation, take-profit fill', () => {
    const t = open('LONG', '239.90', '240.00', '1000', 10);
    expect(showPrice(t.entry)).toBe('240.00'); // opens at the ask
    expect(showQty(t.quantity)).toBe('41.66666666'); // 10,000 / 240 floored
    expect(showPrice(t.liq)).toBe('217.20'); // 240 × (1 − 0.1 + 0.005)
    // take-profit fills at the tick's bid 250.10: 10.10 × 41.66666666 = 420.8333332… → 420.83
    const pnl = pnlFor('LONG', t.entry, closingPrice('LONG', price('250.10'), price('250.20')), t.quantity);
    expect(showUsd(pnl)).toBe('420.83');
    expect(showUsd(payoutFor(usd('1000'), pnl))).toBe('1420.83');
  });

  it('BTC 50x SHORT at 95,000 with 500 margin: qty, liquidation, liquidation fill', () => {
    const t = open('SHORT', '95000', '95010', '500', 50);
    expect(showPrice(t.entry)).toBe('95000.00'); // opens at the bid
    expect(showQty(t.quantity)).toBe('0.26315789');
    expect(showPrice(t.liq)).toBe('96425.00'); // 95,000 × (1 + 0.02 − 0.005)
    // closes at the ask 96,430: (95,000 − 96,430) × 0.26315789 = −376.3157827 → −376.32
    const pnl = pnlFor('SHORT', t.entry, closingPrice('SHORT', price('96420'), price('96430')), t.quantity);
    expect(showUsd(pnl)).toBe('-376.32');
    expect(payoutFor(usd('500'), pnl)).toBe(usd('123.68')); // what a manual close would pay
  });

  it('BTC 100x LONG at 95,010 with 1,000 margin, gapping through liquidation', () => {
    const t = open('LONG', '95000', '95010', '1000', 100);
    expect(showQty(t.quantity)).toBe('1.05252078'); // 100,000 / 95,010
    expect(showPrice(t.liq)).toBe('94534.95'); // 95,010 × 0.995
    const pnl = pnlFor('LONG', t.entry, price('90000'), t.quantity);
    expect(showUsd(pnl)).toBe('-5273.13'); // −5,273.1291… floored
    expect(payoutFor(usd('1000'), pnl)).toBe(0n); // isolated margin: never below zero
  });

  it('ETH 50x LONG at 3,500 with 100 margin: liquidation 3,447.50, stop-loss fill', () => {
    const t = open('LONG', '3499', '3500', '100', 50);
    expect(showPrice(t.liq)).toBe('3447.50'); // 3,500 × 0.985
    expect(showQty(t.quantity)).toBe('1.42857142');
    expect(showUsd(pnlFor('LONG', t.entry, price('3400'), t.quantity))).toBe('-142.86');
  });

  it('a small loss is floored to the cent against the trader, a small gain down to zero', () => {
    const t = open('LONG', '239.90', '240.00', '100', 1);
    expect(showQty(t.quantity)).toBe('0.41666666');
    expect(showUsd(pnlFor('LONG', t.entry, price('239.99'), t.quantity))).toBe('-0.01'); // −0.0041666…
    expect(showUsd(pnlFor('LONG', t.entry, price('240.01'), t.quantity))).toBe('0.00'); // +0.0041666…
  });

  it('manual closes of a LONG and a SHORT on SOL', () => {
    // LONG 100 × 1x at 240.00 closed at the bid 244.90: 0.41666666 × 4.90 = 2.0416666… → 2.04
    const long = open('LONG', '239.90', '240.00', '100', 1);
    expect(showUsd(pnlFor('LONG', long.entry, price('244.90'), long.quantity))).toBe('2.04');
    // SHORT 100 × 1x at the bid 239.90 closed at the ask 230.00: 0.41684035 × 9.90 = 4.1267… → 4.12
    const short = open('SHORT', '239.90', '240.00', '100', 1);
    expect(showPrice(short.entry)).toBe('239.90');
    expect(showUsd(pnlFor('SHORT', short.entry, price('230.00'), short.quantity))).toBe('4.12');
  });

  it('unrealized PnL of a tiny BTC LONG at the bid: −0.105… → −0.11', () => {
    const t = open('LONG', '95000', '95010', '100', 10);
    expect(showQty(t.quantity)).toBe('0.0105252');
    expect(showUsd(pnlFor('LONG', t.entry, price('95000'), t.quantity))).toBe('-0.11');
  });

  it('equity is free plus each trade\'s margin + PnL floored at zero', () => {
    const t = open('LONG', '239.90', '240.00', '1000', 10);
    const pnl = pnlFor('LONG', t.entry, price('250.00'), t.quantity); // 416.6666666 → 416.66
    expect(showUsd(pnl)).toBe('416.66');
    expect(showUsd(equityFor(usd('4000'), [{ marginCents: usd('1000'), pnlCents: pnl }]))).toBe('5416.66');
    expect(equityFor(usd('10'), [{ marginCents: usd('5'), pnlCents: usd('-7') }])).toBe(usd('10'));
  });
});

describe('liquidation price rounding', () => {
  it('rounds a LONG up and a SHORT down to 1e-8', () => {
    // 100.00000001 × 0.905 = 90.50000000905 → LONG rounds up to 90.50000001
    expect(liquidationPriceFor('LONG', price('100.00000001'), 10, MMR)).toBe(price('90.50000001'));
    // 100.00000001 × 1.095 = 109.50000001095 → SHORT rounds down to 109.50000001
    expect(liquidationPriceFor('SHORT', price('100.00000001'), 10, MMR)).toBe(price('109.50000001'));
    // 1x: LONG 0.005 × open, SHORT 1.995 × open
    expect(liquidationPriceFor('LONG', price('3'), 1, MMR)).toBe(price('0.015'));
    expect(liquidationPriceFor('SHORT', price('3'), 1, MMR)).toBe(price('5.985'));
  });

  it('reads the maintenance margin rate exactly', () => {
    expect(mmrToPpm('0.005')).toBe(5000n);
    expect(mmrToPpm(0.005)).toBe(5000n);
    expect(mmrToPpm('0.0125')).toBe(12500n);
  });
});

describe('order preview', () => {
  const base = {
    direction: 'LONG' as Direction, margin: '1000', leverage: 10, bid: price('239.90'), ask: price('240.00'), mmrPpm: MMR,
  };

  it('shows the engine\'s numbers before submit', () => {
    const p = previewOrder(base);
    expect(p.errors).toEqual({});
    expect(showPrice(p.entryPrice!)).toBe('240.00');
    expect(showQty(p.quantity!)).toBe('41.66666666');
    expect(showPrice(p.liquidationPrice!)).toBe('217.20');
    expect(showUsd(p.requiredMargin!)).toBe('1000.00');
    expect(showUsd(p.notional!)).toBe('10000.00');
  });

  it('previews the PnL at the SL and TP levels', () => {
    const p = previewOrder({ ...base, stopLoss: '230', takeProfit: '250' });
    expect(p.errors).toEqual({});
    expect(showUsd(p.pnlAtTakeProfit!)).toBe('416.66');
    expect(showUsd(p.pnlAtStopLoss!)).toBe('-416.67');
  });

  it('flags what the engine would reject', () => {
    expect(previewOrder({ ...base, margin: '10.001' }).errors.margin).toMatch(/2 decimals/);
    expect(previewOrder({ ...base, margin: '0' }).errors.margin).toMatch(/greater than zero/);
    expect(previewOrder({ ...base, margin: '6000', freeCents: usd('5000') }).errors.margin).toMatch(/free balance/);
    expect(previewOrder({ ...base, stopLoss: '241' }).errors.stopLoss).toMatch(/below/);
    expect(previewOrder({ ...base, takeProfit: '239' }).errors.takeProfit).toMatch(/above/);
    expect(previewOrder({ ...base, direction: 'SHORT', stopLoss: '239' }).errors.stopLoss).toMatch(/above/);
    expect(previewOrder({ ...base, leverage: 101 }).errors.leverage).toBeDefined();
    expect(previewOrder({ ...base, leverage: NaN }).notional).toBeNull();
    // text the request cannot carry gets the format, not a misleading range message
    expect(previewOrder({ ...base, margin: '1,000' }).errors.margin).toMatch(/no commas/);
    expect(previewOrder({ ...base, margin: '1e3' }).requiredMargin).toBeNull();
    expect(previewOrder({ ...base, stopLoss: '1,000' }).errors.stopLoss).toMatch(/no commas/);
    expect(previewOrder({ ...base, takeProfit: 'abc' }).errors.takeProfit).toMatch(/no commas/);
    expect(previewOrder({ ...base, stopLoss: '0' }).errors.stopLoss).toMatch(/positive/);
    expect(previewOrder({ ...base, bid: null, ask: null }).errors.price).toBeDefined();
    // a 100x LONG with a 1 % spread is liquidated by the spread alone
    expect(previewOrder({ ...base, leverage: 100, bid: price('99'), ask: price('100') }).errors.leverage).toMatch(/spread/);
  });

  // LONG 10x at the ask 240.00, bid 239.90: liquidation 217.20, so the stop-loss band is (217.20, 239.90).
  // SHORT 10x at the bid 239.90, ask 240.00: liquidation 239.90 × 1.095 = 262.6905, band (240.00, 262.6905).
  describe('stop-loss band: between the closing price and the liquidation price', () => {
    const short = { ...base, direction: 'SHORT' as Direction };
    const sl = (input: typeof base, stopLoss: string) => previewOrder({ ...input, stopLoss });

    it('rejects a LONG stop-loss inside the spread or at the bid', () => {
      expect(sl(base, '239.95').errors.stopLoss).toBe('A LONG stop-loss must be below the bid (239.90).');
      expect(sl(base, '239.90').errors.stopLoss).toMatch(/below the bid/);
      expect(sl(base, '239.95').pnlAtStopLoss).toBeNull();
    });

    it('rejects a LONG stop-loss at or below the liquidation price', () => {
      expect(sl(base, '217.20').errors.stopLoss).toBe('A LONG stop-loss must be above the liquidation price (217.20).');
      expect(sl(base, '200').errors.stopLoss).toMatch(/above the liquidation price/);
      expect(sl(base, '200').pnlAtStopLoss).toBeNull();
      // known without a margin: the liquidation price depends on the entry and leverage only
      expect(sl({ ...base, margin: '' }, '200').errors.stopLoss).toMatch(/liquidation/);
    });

    it('accepts a LONG stop-loss inside the band, up to 1e-8 from either edge', () => {
      for (const v of ['230', '217.20000001', '239.89999999']) {
        const p = sl(base, v);
        expect(p.errors).toEqual({});
        expect(p.pnlAtStopLoss).not.toBeNull();
      }
    });

    it('rejects a SHORT stop-loss inside the spread or at the ask', () => {
      expect(sl(short, '239.95').errors.stopLoss).toBe('A SHORT stop-loss must be above the ask (240.00).');
      expect(sl(short, '240').errors.stopLoss).toMatch(/above the ask/);
    });

    it('rejects a SHORT stop-loss at or above the liquidation price', () => {
      expect(showPrice(previewOrder(short).liquidationPrice!)).toBe('262.6905');
      expect(sl(short, '262.6905').errors.stopLoss).toBe('A SHORT stop-loss must be below the liquidation price (262.6905).');
      expect(sl(short, '300').errors.stopLoss).toMatch(/below the liquidation price/);
    });

    it('accepts a SHORT stop-loss inside the band, up to 1e-8 from either edge', () => {
      for (const v of ['250', '240.00000001', '262.69049999']) {
        const p = sl(short, v);
        expect(p.errors).toEqual({});
        expect(p.pnlAtStopLoss).not.toBeNull();
      }
    });

    it('leaves a spread that liquidates at once to the leverage message', () => {
      const p = previewOrder({ ...base, leverage: 100, bid: price('99'), ask: price('100'), stopLoss: '98' });
      expect(p.errors.leverage).toMatch(/spread/);
      expect(p.errors.stopLoss).toBeUndefined();
    });
  });
});
