import { describe, expect, it } from 'vitest';
import { liveAccount, type LivePosition } from './derived';

const position = (margin: bigint, pnl: bigint) => ({ id: 'p', margin, pnl, mark: 1n }) as unknown as LivePosition;

describe('live account', () => {
  it('values equity as free balance plus each position\'s margin and PnL', () => {
    const account = liveAccount({ free: 400_000n, locked: 10_000n, equity: 410_000n }, [position(10_000n, -500n)]);
    expect(account.equity).toBe(409_500n);
    expect(account.unrealized).toBe(-500n);
  });

  it('counts the margin of a trade the balance holds before the positions list shows it, at no PnL', () => {
    // trade_opened, then the pushed balance, and the refreshed positions still on their way
    const account = liveAccount({ free: 490_000n, locked: 10_000n, equity: 500_000n }, []);
    expect(account.equity).toBe(500_000n);
  });
});
