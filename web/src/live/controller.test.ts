import { beforeEach, describe, expect, it, vi } from 'vitest';

const api = vi.hoisted(() => ({
  open: [] as unknown[],
  closed: [] as unknown[],
}));

vi.mock('../api/trading', () => ({
  getAssets: vi.fn(async () => []),
  getPrices: vi.fn(async () => []),
  getBalance: vi.fn(async () => ({ balances: { USD: '4500' }, lockedMargin: '500', equity: '5000' })),
  getOpenTrades: vi.fn(async () => api.open),
  getClosedTrades: vi.fn(async () => ({ trades: api.closed, nextCursor: null })),
  closeTrade: vi.fn(async (tradeId: string) => ({ tradeId, closePrice: '95010', pnl: '-2.64', marginReturned: '500', totalReturn: '497.36' })),
}));

import { TerminalController } from './controller';
import { store } from './store';

const trade = {
  tradeId: 'b1', asset: 'BTC_USDC', direction: 'SHORT', openPrice: '95000', quantity: '0.26315789', margin: '500',
  leverage: '50', liquidationPrice: '96425', stopLossPrice: null, takeProfitPrice: null, openedAt: '1',
};

describe('terminal controller', () => {
  beforeEach(() => {
    store.reset();
    api.open = [];
    api.closed = [];
  });

  it('toasts a liquidation it learns about by polling', async () => {
    const c = new TerminalController();
    api.open = [{ ...trade, markPrice: '95010', unrealizedPnl: '-2.64', status: 'open' }];
    await c.refreshAccount();
    expect(store.get().positions.map((p) => p.id)).toEqual(['b1']);
    expect(store.get().positions[0].quantity).toBe(26315789n);

    api.open = [];
    api.closed = [{ ...trade, closePrice: '96430', closeReason: 'LIQUIDATION', pnl: '-376.32', payout: '0', closedAt: '2', status: 'closed' }];
    await c.refreshAccount();
    const toasts = store.get().toasts;
    expect(toasts).toHaveLength(1);
    expect(toasts[0].kind).toBe('liquidation');
    expect(toasts[0].title).toBe('BTC/USDC SHORT liquidated');
    expect(toasts[0].body).toBe('at 96,430.00 · PnL -376.32 USD');
    expect(store.get().history).toHaveLength(1);

    await c.refreshAccount(); // nothing new: no second toast
    expect(store.get().toasts).toHaveLength(1);
    c.stop();
  });

  it('names the position in the toast of a close this page asked for', async () => {
    const c = new TerminalController();
    api.open = [{ ...trade, markPrice: '95010', unrealizedPnl: '-2.64', status: 'open' }];
    await c.refreshAccount();
    api.open = [];
    await c.close('b1');
    const toasts = store.get().toasts;
    expect(toasts).toHaveLength(1);
    expect(toasts[0].kind).toBe('manual');
    expect(toasts[0].title).toBe('BTC/USDC SHORT 50x closed');
    expect(toasts[0].body).toBe('at 95,010.00 · PnL -2.64 USD');
    c.stop();
  });

  it('coalesces concurrent refreshes', async () => {
    const c = new TerminalController();
    const { getOpenTrades } = await import('../api/trading');
    const before = vi.mocked(getOpenTrades).mock.calls.length;
    await Promise.all([c.refreshAccount(), c.refreshAccount(), c.refreshAccount()]);
    expect(vi.mocked(getOpenTrades).mock.calls.length - before).toBe(2); // the running one + one more
    c.stop();
  });
});
