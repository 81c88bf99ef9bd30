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
  openTrade: vi.fn(),
}));

import { ApiError } from '../api/http';
import * as trading from '../api/trading';
import { TerminalController } from './controller';
import { store } from './store';
import type { PushMessage } from './stream';

/** What the socket would deliver (the controller's handler is private: the stream calls it). */
const push = (c: TerminalController, m: PushMessage) => (c as unknown as { onPush(m: PushMessage): void }).onPush(m);

/** An order the ticket sends, and the Idempotency-Keys it was sent under so far. */
const order = { asset: 'BTC_USDC', direction: 'LONG' as const, margin: '100', leverage: 10 };
const sentKeys = () => vi.mocked(trading.openTrade).mock.calls.map((call) => call[1]);

const trade = {
  tradeId: 'b1', asset: 'BTC_USDC', direction: 'SHORT' as const, openPrice: '95000', quantity: '0.26315789', margin: '500',
  leverage: '50', liquidationPrice: '96425', stopLossPrice: null, takeProfitPrice: null, openedAt: '1',
};

/** A closed trade as the history endpoint lists it. */
const closedRow = (id: string) => ({ ...trade, tradeId: id, closePrice: '95000', closeReason: 'MANUAL', pnl: '0', payout: '500', closedAt: '1', status: 'closed' as const });
type ClosedPage = { trades: ReturnType<typeof closedRow>[]; nextCursor: string | null };
type OpenList = Awaited<ReturnType<typeof trading.getOpenTrades>>;
const stillOpen = () => [{ ...trade, markPrice: '95010', unrealizedPnl: '-2.64', status: 'open' }] as OpenList;

/** The next history read, held until the test answers it. */
function heldHistoryPage(): (page: ClosedPage) => void {
  let answer!: (page: ClosedPage) => void;
  vi.mocked(trading.getClosedTrades).mockImplementationOnce(() => new Promise<ClosedPage>((resolve) => { answer = resolve; }));
  return (page) => answer(page);
}

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
    await vi.waitFor(() => expect(store.get().toasts).toHaveLength(1)); // announced after the refresh, which does not wait for history
    const toasts = store.get().toasts;
    expect(toasts).toHaveLength(1);
    expect(toasts[0].kind).toBe('liquidation');
    expect(toasts[0].title).toBe('BTC/USDC SHORT liquidated');
    expect(toasts[0].body).toBe('at 96,430.00 · PnL -500.00 USD'); // the whole margin, not the price move
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

  it('sends an order again under the same key after no answer, and a new order under a new key', async () => {
    const c = new TerminalController();
    const opened = { ...trade, direction: 'LONG' as const, margin: '100', leverage: '10' };
    api.open = [{ ...opened, markPrice: '95010', unrealizedPnl: '0', status: 'open' }]; // what the refresh after it finds
    vi.mocked(trading.openTrade)
      .mockRejectedValueOnce(new ApiError(0, 'NETWORK', 'The exchange cannot be reached.'))
      .mockRejectedValueOnce(new ApiError(503, 'ORDER_HISTORY_BEHIND', 'later'))
      .mockResolvedValueOnce(opened)
      .mockResolvedValueOnce(opened);

    await expect(c.open(order)).rejects.toThrow();
    await expect(c.open({ ...order, margin: ' 100 ' })).rejects.toThrow();
    await c.open(order);
    await c.open(order);

    const keys = sentKeys();
    expect(keys[1]).toBe(keys[0]);
    expect(keys[2]).toBe(keys[0]);
    expect(keys[3]).not.toBe(keys[0]); // answered: the next one is a new order
    c.stop();
  });

  it('forgets the key of an order the exchange answered with a refusal', async () => {
    const c = new TerminalController();
    vi.mocked(trading.openTrade).mockReset()
      .mockRejectedValueOnce(new ApiError(422, 'INSUFFICIENT_BALANCE', 'no'))
      .mockRejectedValueOnce(new ApiError(422, 'INSUFFICIENT_BALANCE', 'no'));

    await expect(c.open(order)).rejects.toThrow();
    await expect(c.open(order)).rejects.toThrow();

    const keys = sentKeys();
    expect(keys[1]).not.toBe(keys[0]);
    c.stop();
  });

  it('takes a position closed by the exchange off the screen at once, so equity does not count it twice', async () => {
    const c = new TerminalController();
    api.open = [{ ...trade, markPrice: '95010', unrealizedPnl: '-2.64', status: 'open' }];
    await c.refreshAccount();
    vi.mocked(trading.getOpenTrades).mockRejectedValueOnce(new ApiError(0, 'NETWORK', 'down'));

    push(c, { type: 'trade_closed', tradeId: 'b1', asset: 'BTC_USDC', direction: 'SHORT', reason: 'LIQUIDATION', closePrice: '96430', margin: '500', pnl: '-376.32', payout: '0' });

    expect(store.get().positions).toEqual([]);
    expect(store.get().toasts.at(-1)?.body).toBe('at 96,430.00 · PnL -500.00 USD');
    c.stop();
  });

  it('does not bring back a pushed close when a read of the open trades answered before it arrives after it', async () => {
    const c = new TerminalController();
    api.open = [{ ...trade, markPrice: '95010', unrealizedPnl: '-2.64', status: 'open' }];
    await c.refreshAccount();
    let answer!: (open: OpenList) => void;
    vi.mocked(trading.getOpenTrades).mockImplementationOnce(() => new Promise((resolve) => { answer = resolve; }));
    const refresh = c.refreshAccount();

    push(c, { type: 'trade_closed', tradeId: 'b1', asset: 'BTC_USDC', direction: 'SHORT', reason: 'STOP_LOSS', closePrice: '95100', margin: '500', pnl: '-27.70', payout: '472.30' });
    answer(stillOpen()); // read before the close
    await refresh;

    expect(store.get().positions).toEqual([]);
    c.stop();
  });

  it('does not bring back a position this page closed when an older read of the open trades arrives after the answer', async () => {
    const c = new TerminalController();
    api.open = [{ ...trade, markPrice: '95010', unrealizedPnl: '-2.64', status: 'open' }];
    await c.refreshAccount();
    const answers: ((open: OpenList) => void)[] = [];
    const held = () => new Promise<OpenList>((resolve) => { answers.push(resolve); });
    vi.mocked(trading.getOpenTrades).mockImplementationOnce(held).mockImplementationOnce(held);
    const refresh = c.refreshAccount();

    const closing = c.close('b1'); // answered at once; its own refresh waits for the one in flight
    await vi.waitFor(() => expect(store.get().toasts.some((t) => t.kind === 'manual')).toBe(true));
    answers[0](stillOpen()); // read before the close
    await vi.waitFor(() => expect(answers).toHaveLength(2)); // that read is answered; the next one is out

    expect(store.get().positions).toEqual([]);
    answers[1]([]);
    await refresh;
    await closing;
    expect(store.get().positions).toEqual([]);
    c.stop();
  });

  it('does not let a read of the account sent before a pushed balance overwrite it, and reads again', async () => {
    const c = new TerminalController();
    await c.refreshAccount();
    type Balance = Awaited<ReturnType<typeof trading.getBalance>>;
    const answers: ((b: Balance) => void)[] = [];
    vi.mocked(trading.getBalance)
      .mockImplementationOnce(() => new Promise<Balance>((resolve) => { answers.push(resolve); }))
      .mockResolvedValueOnce({ balances: { USD: '4000' }, lockedMargin: '1000', equity: '5000' });
    const refresh = c.refreshAccount();

    push(c, { type: 'balance', balances: { USD: '4000' }, lockedMargin: '1000', equity: '5000' });
    const pushed = store.get().balance;
    answers[0]({ balances: { USD: '4500' }, lockedMargin: '500', equity: '5000' }); // read before the push
    await refresh;

    expect(store.get().balance).toEqual(pushed);
    c.stop();
  });

  it('does not take a trade this page just opened for a closed one when a read sent before the answer arrives after it', async () => {
    const c = new TerminalController();
    await c.refreshAccount(); // nothing open yet
    const answers: ((open: OpenList) => void)[] = [];
    vi.mocked(trading.getOpenTrades).mockImplementationOnce(() => new Promise<OpenList>((resolve) => { answers.push(resolve); }));
    const refresh = c.refreshAccount();
    const opened = { ...trade, tradeId: 'n1' };
    vi.mocked(trading.openTrade).mockResolvedValueOnce(opened);
    api.open = [{ ...opened, markPrice: '95010', unrealizedPnl: '0', status: 'open' }] as OpenList;
    const historyReads = vi.mocked(trading.getClosedTrades).mock.calls.length;

    const opening = c.open(order);
    await vi.waitFor(() => expect(store.get().toasts.some((t) => t.kind === 'opened')).toBe(true));
    answers[0]([]); // read before the open
    await refresh;
    await opening;

    expect(store.get().positions.map((p) => p.id)).toEqual(['n1']);
    await new Promise((r) => setTimeout(r, 10));
    expect(vi.mocked(trading.getClosedTrades).mock.calls.length).toBe(historyReads); // no search for a close that never was
    c.stop();
  });

  it('keeps every loaded page of history when a close arrives after the last page', async () => {
    const c = new TerminalController();
    const row = (i: number) => ({ ...trade, tradeId: `t${i}`, closePrice: '95000', closeReason: 'MANUAL', pnl: '0', payout: '500', closedAt: String(i), status: 'closed' as const });
    store.set({ history: Array.from({ length: 120 }, (_, i) => row(120 - i)), historyCursor: null, historyLoaded: true });
    api.closed = Array.from({ length: 50 }, (_, i) => row(121 - i)); // t121 is new

    await c.loadHistory(true);

    expect(store.get().history).toHaveLength(121);
    expect(store.get().history[0].tradeId).toBe('t121');
    expect(store.get().historyCursor).toBeNull();
    c.stop();
  });

  it('asks for history again until a pushed close is in it', async () => {
    vi.useFakeTimers();
    try {
      const c = new TerminalController();
      const closed = { ...trade, closePrice: '96430', closeReason: 'LIQUIDATION', pnl: '-376.32', payout: '0', closedAt: '2', status: 'closed' as const };
      vi.mocked(trading.getClosedTrades).mockResolvedValueOnce({ trades: [], nextCursor: null }); // the audit trail is behind

      api.closed = [closed];
      push(c, { type: 'trade_closed', tradeId: 'b1', asset: 'BTC_USDC', direction: 'SHORT', reason: 'LIQUIDATION', closePrice: '96430', margin: '500', pnl: '-376.32', payout: '0' });
      await vi.advanceTimersByTimeAsync(2000);

      expect(store.get().history.map((t) => t.tradeId)).toEqual(['b1']);
      c.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it('tells of a liquidation that beat the trader\'s own close instead of saying the close failed', async () => {
    const c = new TerminalController();
    api.open = [{ ...trade, markPrice: '95010', unrealizedPnl: '-2.64', status: 'open' }];
    await c.refreshAccount();
    let refuse!: (e: unknown) => void;
    vi.mocked(trading.closeTrade).mockImplementationOnce(() => new Promise((_, reject) => { refuse = reject; }));

    const closing = c.close('b1');
    push(c, { type: 'trade_closed', tradeId: 'b1', asset: 'BTC_USDC', direction: 'SHORT', reason: 'LIQUIDATION', closePrice: '96430', margin: '500', pnl: '-376.32', payout: '0' });
    refuse(new ApiError(404, 'TRADE_NOT_FOUND', 'No such open trade.'));
    await closing;

    const toasts = store.get().toasts;
    expect(toasts).toHaveLength(1);
    expect(toasts[0].kind).toBe('liquidation');
    c.stop();
  });

  it('asks for the assets and the history again until they come, instead of leaving the terminal without them', async () => {
    vi.useFakeTimers();
    try {
      const btc = { symbol: 'BTC_USDC', maxLeverage: '100', maintenanceMarginRate: '0.005', minMargin: '1', maxMargin: '1000000' };
      vi.mocked(trading.getAssets).mockRejectedValueOnce(new ApiError(0, 'NETWORK', 'down')).mockResolvedValueOnce([btc]);
      vi.mocked(trading.getClosedTrades).mockRejectedValueOnce(new ApiError(503, 'HTTP_503', 'busy'));
      const c = new TerminalController();

      const started = c.start();
      await vi.advanceTimersByTimeAsync(1500);
      await started;

      expect(store.get().assets.map((a) => a.symbol)).toEqual(['BTC_USDC']);
      expect(store.get().historyLoaded).toBe(true);
      c.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it('sends the same order under a new key once the kept one is ten minutes old: then it is meant as another order', async () => {
    vi.useFakeTimers();
    try {
      const c = new TerminalController();
      vi.mocked(trading.openTrade).mockReset()
        .mockRejectedValueOnce(new ApiError(0, 'NETWORK', 'The exchange cannot be reached.'))
        .mockRejectedValueOnce(new ApiError(0, 'NETWORK', 'The exchange cannot be reached.'))
        .mockRejectedValueOnce(new ApiError(0, 'NETWORK', 'The exchange cannot be reached.'));

      await expect(c.open(order)).rejects.toThrow();
      await vi.advanceTimersByTimeAsync(5 * 60_000);
      await expect(c.open(order)).rejects.toThrow(); // five minutes on: still the same order
      await vi.advanceTimersByTimeAsync(10 * 60_000 + 1_000);
      await expect(c.open(order)).rejects.toThrow();

      const keys = sentKeys();
      expect(keys[1]).toBe(keys[0]);
      expect(keys[2]).not.toBe(keys[0]);
      c.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it('keeps a newer pushed price when an older polled one arrives after it', () => {
    const c = new TerminalController();
    c.applyPrices([{ asset: 'BTC_USDC', bid: '95010', ask: '95020', timestamp: '2000' }]);
    c.applyPrices([{ asset: 'BTC_USDC', bid: '95000', ask: '95010', timestamp: '1000' }]);

    expect(store.get().quotes.BTC_USDC.bid).toBe(9_501_000_000_000n);
    c.stop();
  });

  it('shows the next trader none of the history a signed-out trader\'s page was still reading', async () => {
    const answerA = heldHistoryPage();
    const a = new TerminalController();
    const loading = a.loadHistory(true);
    a.stop(); // signed out; the next trader's terminal starts
    const b = new TerminalController();
    await b.loadHistory(true);

    answerA({ trades: [closedRow('a1')], nextCursor: null });
    await loading;

    expect(store.get().history).toEqual([]);
    b.stop();
  });

  it('drops an older page read while the first page was read again, so no trade falls between them', async () => {
    const rows = Array.from({ length: 101 }, (_, i) => closedRow(`t${101 - i}`)); // t101 … t1, newest first
    store.set({ history: rows.slice(1, 51), historyCursor: 'after-t51', historyLoaded: true }); // t100 … t51 shown
    const answerOlder = heldHistoryPage(); // "Load more" from after t51
    vi.mocked(trading.getClosedTrades).mockResolvedValueOnce({ trades: rows.slice(0, 50), nextCursor: 'after-t52' }); // t101 closed: t51 is off page 1
    const c = new TerminalController();

    const more = c.loadHistory(false);
    await c.loadHistory(true);
    answerOlder({ trades: rows.slice(51), nextCursor: null }); // t50 … t1
    await more;

    expect(store.get().history.map((t) => t.tradeId)).toEqual(rows.slice(0, 50).map((t) => t.tradeId));
    expect(store.get().historyCursor).toBe('after-t52'); // "Load more" goes on with t51
    c.stop();
  });

  it('lets the loaded older pages go when more closes came than the first page holds, instead of showing a gap', async () => {
    const rows = Array.from({ length: 200 }, (_, i) => closedRow(`t${200 - i}`)); // t200 … t1
    store.set({ history: rows.slice(100), historyCursor: null, historyLoaded: true }); // t100 … t1: every page loaded
    vi.mocked(trading.getClosedTrades).mockResolvedValueOnce({ trades: rows.slice(0, 50), nextCursor: 'after-t151' });
    const c = new TerminalController();

    await c.loadHistory(true);

    expect(store.get().history.map((t) => t.tradeId)).toEqual(rows.slice(0, 50).map((t) => t.tradeId));
    expect(store.get().historyCursor).toBe('after-t151');
    c.stop();
  });

  it('reads history once for a burst of closes pushed together', async () => {
    const c = new TerminalController();
    const ids = Array.from({ length: 20 }, (_, i) => `x${i}`);
    api.closed = ids.map(closedRow);
    const before = vi.mocked(trading.getClosedTrades).mock.calls.length;

    for (const tradeId of ids) {
      push(c, { type: 'trade_closed', tradeId, asset: 'BTC_USDC', direction: 'SHORT', reason: 'LIQUIDATION', closePrice: '96430', margin: '500', pnl: '-376.32', payout: '0' });
    }
    await vi.waitFor(() => expect(store.get().history).toHaveLength(20));
    await new Promise((resolve) => setTimeout(resolve, 20));

    expect(vi.mocked(trading.getClosedTrades).mock.calls.length - before).toBe(1);
    c.stop();
  });

  it('does not tell the next trader of an order the signed-out one placed', async () => {
    let answer!: (t: Awaited<ReturnType<typeof trading.openTrade>>) => void;
    vi.mocked(trading.openTrade).mockImplementationOnce(() => new Promise((resolve) => { answer = resolve; }));
    const a = new TerminalController();
    const opening = a.open(order);
    a.stop();

    answer({ ...trade, direction: 'LONG', margin: '100', leverage: '10' });
    await opening;

    expect(store.get().toasts).toEqual([]);
  });
});
