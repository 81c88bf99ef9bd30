import { describe, expect, it } from 'vitest';
import { decimal, parseJsonExact, stringifyExact } from './json';

describe('exact JSON', () => {
  it('keeps every number as its source text', () => {
    const v = parseJsonExact<{ a: string; b: string[]; c: { d: string }; s: string; t: boolean; n: null }>(
      '{"a": 12345678901234.12345678, "b":[1,-2.5e-3, 0], "c":{"d":96425.00}, "s":"x\\"1.5\\"", "t":true, "n":null}',
    );
    expect(v.a).toBe('12345678901234.12345678');
    expect(v.b).toEqual(['1', '-2.5e-3', '0']);
    expect(v.c.d).toBe('96425.00');
    expect(v.s).toBe('x"1.5"');
    expect(v.t).toBe(true);
    expect(v.n).toBeNull();
  });

  it('writes decimals as bare numbers', () => {
    expect(stringifyExact({ asset: 'BTC_USDC', margin: decimal('1000.50'), leverage: 10, sl: undefined }))
      .toBe('{"asset":"BTC_USDC","margin":1000.50,"leverage":10}');
    expect(stringifyExact({ p: decimal('.5'), q: decimal('7.'), r: decimal('0012') })).toBe('{"p":0.5,"q":7,"r":12}');
    expect(() => decimal('1e5')).toThrow();
  });
});
