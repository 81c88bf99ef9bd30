import { describe, expect, it } from 'vitest';
import { isDecimalText, parseLeverage } from './ticketInput';

describe('ticket input', () => {
  it('accepts digits with at most one dot', () => {
    for (const t of ['100', '0.5', '.5', '5.', ' 95000.25 ', '007']) expect(isDecimalText(t), t).toBe(true);
  });

  it('refuses what the order cannot carry exactly', () => {
    for (const t of ['', ' ', '.', '1,000', '1 000', 'abc', '-5', '+5', '1e3', '1.2.3', '95000,5']) expect(isDecimalText(t), t).toBe(false);
  });

  it('reads the leverage box only as a whole number within the asset maximum', () => {
    expect(parseLeverage('15', 100)).toBe(15);
    expect(parseLeverage(' 100 ', 100)).toBe(100);
    expect(parseLeverage('1', 100)).toBe(1);
    for (const t of ['', '0', '150', '101', '2.5', '1e2', '-5', 'x']) expect(parseLeverage(t, 100), t).toBeNull();
    expect(parseLeverage('75', 50)).toBeNull();
  });
});
