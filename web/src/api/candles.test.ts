import { describe, expect, it } from 'vitest';
import { applyTick, normaliseCandle, TickBook, type Candle } from './candles';

describe('candles', () => {
  it('accepts the usual candle shapes', () => {
    expect(normaliseCandle({ time: 1_700_000_000_000, open: '1', high: '3', low: '0.5', close: '2' }))
      .toEqual({ time: 1_700_000_000, open: 1, high: 3, low: 0.5, close: 2 });
    expect(normaliseCandle({ t: 1_700_000_060, o: 1, h: 1, l: 1, c: 1 })?.time).toBe(1_700_000_060);
    expect(normaliseCandle([1_700_000_000_000, '1', '2', '0', '1'])?.high).toBe(2);
    expect(normaliseCandle({ time: 'x', open: 1, high: 1, low: 1, close: 1 })).toBeNull();
  });

  it('folds ticks into buckets, opening each candle at its first tick as the server does', () => {
    const c: Candle[] = [];
    applyTick(c, 60_000, 10, 60);
    applyTick(c, 61_000, 12, 60);
    applyTick(c, 119_999, 9, 60);
    applyTick(c, 120_000, 11, 60);
    expect(c).toEqual([
      { time: 60, open: 10, high: 12, low: 9, close: 9 },
      { time: 120, open: 11, high: 11, low: 11, close: 11 },
    ]);
    applyTick(c, 90_000, 100, 60); // late tick: ignored
    expect(c[1].close).toBe(11);
  });

  it('rebuilds any interval from the ticks it kept', () => {
    const book = new TickBook();
    for (let i = 0; i < 600; i++) book.add('BTC_USDC', i * 1000, 100 + (i % 7));
    book.add('BTC_USDC', 599_000, 106); // the same quote polled twice is one tick
    expect(book.candles('BTC_USDC', 60)).toHaveLength(10);
    expect(book.candles('BTC_USDC', 300)).toHaveLength(2);
    expect(book.candles('ETH_USDC', 60)).toEqual([]);
  });
});
