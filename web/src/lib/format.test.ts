import { describe, expect, it } from 'vitest';
import { withoutPrices } from './format';

describe('format', () => {
  it('says a ticket warning without the live price it quotes, so a screen reader does not repeat it on every tick', () => {
    expect(withoutPrices('A LONG stop-loss must be below the bid (95,010.5).')).toBe('A LONG stop-loss must be below the bid.');
    expect(withoutPrices('A SHORT stop-loss must be below the liquidation price (96,425.00).')).toBe('A SHORT stop-loss must be below the liquidation price.');
    expect(withoutPrices('Enter a positive price with at most 8 decimals.')).toBe('Enter a positive price with at most 8 decimals.');
  });
});
