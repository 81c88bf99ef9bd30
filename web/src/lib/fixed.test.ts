import { describe, expect, it } from 'vitest';
import { ceilDiv, floorDiv, formatFixed, parseFixed, rescale } from './fixed';

describe('fixed point', () => {
  it('divides with floor and ceiling for every sign', () => {
    expect(floorDiv(7n, 2n)).toBe(3n);
    expect(floorDiv(-7n, 2n)).toBe(-4n);
    expect(floorDiv(7n, -2n)).toBe(-4n);
    expect(floorDiv(-8n, 2n)).toBe(-4n);
    expect(ceilDiv(7n, 2n)).toBe(4n);
    expect(ceilDiv(-7n, 2n)).toBe(-3n);
    expect(ceilDiv(8n, 2n)).toBe(4n);
  });

  it('parses decimal text exactly', () => {
    expect(parseFixed('1000', 2)).toBe(100000n);
    expect(parseFixed('-376.32', 2)).toBe(-37632n);
    expect(parseFixed('0.00000001', 8)).toBe(1n);
    expect(parseFixed('1e-8', 8)).toBe(1n);
    expect(parseFixed('9.5E+4', 2)).toBe(9500000n);
    expect(parseFixed('.5', 2)).toBe(50n);
    expect(parseFixed('5.', 2)).toBe(500n);
    expect(parseFixed('12345678901234.12345678', 8)).toBe(1234567890123412345678n);
    expect(parseFixed(41.66666666, 8)).toBe(4166666666n);
  });

  it('refuses what is not an exact decimal at the scale', () => {
    expect(parseFixed('10.001', 2)).toBeNull();
    expect(parseFixed('abc', 2)).toBeNull();
    expect(parseFixed('', 2)).toBeNull();
    expect(parseFixed('.', 2)).toBeNull();
    expect(parseFixed('1,000', 2)).toBeNull();
    expect(parseFixed(Number.NaN, 2)).toBeNull();
  });

  it('rounds away extra digits only when asked', () => {
    expect(parseFixed('10.005', 2, 'floor')).toBe(1000n);
    expect(parseFixed('10.005', 2, 'ceil')).toBe(1001n);
    expect(parseFixed('-10.005', 2, 'floor')).toBe(-1001n);
  });

  it('formats units as decimal text', () => {
    expect(formatFixed(-37632n, 2, { minDecimals: 2 })).toBe('-376.32');
    expect(formatFixed(9642500000000n, 8, { minDecimals: 2, group: true })).toBe('96,425.00');
    expect(formatFixed(4166666666n, 8)).toBe('41.66666666');
    expect(formatFixed(0n, 2, { minDecimals: 2, sign: true })).toBe('0.00');
    expect(formatFixed(42083n, 2, { minDecimals: 2, sign: true })).toBe('+420.83');
    expect(formatFixed(-1n, 2, { minDecimals: 2 })).toBe('-0.01');
    expect(formatFixed(123456789n, 8, { maxDecimals: 2, minDecimals: 2 })).toBe('1.23');
  });

  it('rescales with the named rounding', () => {
    expect(rescale(21720000001n, 8, 2, 'ceil')).toBe(21721n);
    expect(rescale(21720000001n, 8, 2, 'floor')).toBe(21720n);
    expect(rescale(5n, 2, 8)).toBe(5000000n);
  });
});
