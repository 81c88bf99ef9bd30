// Wires the API and the live stream to the store: initial load, prices, account refreshes,
// close detection (liquidation / stop-loss / take-profit toasts), trading actions.

import { fetchCandles, TickBook } from '../api/candles';
import { ApiError, isUncertain, newIdempotencyKey } from '../api/http';
import * as trading from '../api/trading';
import type { ClosedTradeView, PriceView } from '../api/types';
import { formatFixed, parseFixed, PRICE_SCALE, QTY_SCALE, USD_SCALE } from '../lib/fixed';
import { positionLabel } from '../lib/format';
import { realizedPnl } from '../lib/positionMath';
import { LiveStream, type PushMessage } from './stream';
import { store, toAsset, toBalance, toPosition, toQuote, type Toast, type ToastKind } from './store';

type TickListener = (asset: string, tsMs: number, bid: number) => void;

const REASON_KIND: Record<string, ToastKind> = {
  LIQUIDATION: 'liquidation',
  STOP_LOSS: 'stop-loss',
  TAKE_PROFIT: 'take-profit',
  MANUAL: 'manual',
};

export const REASON_LABEL: Record<string, string> = {
  LIQUIDATION: 'Liquidation',
  STOP_LOSS: 'Stop-loss',
  TAKE_PROFIT: 'Take-profit',
  MANUAL: 'Manual',
};

let toastSeq = 0;

export function pushToast(kind: ToastKind, title: string, body?: string, ttlMs = 6000): void {
  const toast: Toast = { id: ++toastSeq, kind, title, body };
  store.set((s) => ({ toasts: [...s.toasts.slice(-4), toast] }));
  if (ttlMs > 0) setTimeout(() => dismissToast(toast.id), ttlMs);
}

export function dismissToast(id: number): void {
  store.set((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) }));
}

const usd = (s: string | null | undefined) => (s == null ? null : parseFixed(s, USD_SCALE, 'floor'));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Idempotency keys kept for a request whose answer never came: sending the very same request
 * again reuses its key, so the exchange answers with the first outcome instead of trading twice.
 */
export class RetryKeys {
  /**
   * As long as the ticket's "sending it again is safe" message may sit on screen while a trader
   * waits for the network to come back; after it, the same order again is meant as another one.
   */
  static readonly KeepMs = 10 * 60_000;
  private keys = new Map<string, { key: string; at: number }>();

  async send<T>(request: string, send: (key: string) => Promise<T>): Promise<T> {
    const kept = this.keys.get(request);
    const key = kept && Date.now() - kept.at < RetryKeys.KeepMs ? kept.key : newIdempotencyKey();
    this.keys.set(request, { key, at: Date.now() });
    try {
      const answer = await send(key);
      this.keys.delete(request);
      return answer;
    } catch (e) {
      if (!isUncertain(e)) this.keys.delete(request);
      throw e;
    }
  }
}
const showUsd = (c: bigint) => formatFixed(c, USD_SCALE, { minDecimals: 2, group: true, sign: true });
const showPrice = (s: string | null | undefined) => {
  const units = s == null ? null : parseFixed(s, PRICE_SCALE, 'floor');
  return units === null ? (s ?? '') : formatFixed(units, PRICE_SCALE, { minDecimals: 2, group: true });
};

export class TerminalController {
  readonly ticks = new TickBook();
  private tickListeners = new Set<TickListener>();
  private stream: LiveStream | null = null;
  private knownOpen = new Set<string>();
  // Trades known to be closed (pushed, or this page's close answered). A read of the open trades
  // that the exchange answered before the close still lists them: they must not come back on screen.
  private knownClosed = new Set<string>();
  // Counts what this page learnt of the account by other means (a push, an order's answer): a read
  // of balance and positions sent before one of them may be older than the screen, and is read again.
  private changes = 0;
  private closingHere = new Set<string>(); // closes this page asked for (toasted on their reply)
  private toasted = new Set<string>(); // trade ids already announced
  private pushedCloses = new Map<string, Extract<PushMessage, { type: 'trade_closed' }>>(); // held back while this page closes the trade
  private retryKeys = new RetryKeys();
  private closesToShow = new Set<string>(); // pushed closes not yet seen in history
  private showingCloses: Promise<void> | null = null;
  private refreshing: Promise<void> | null = null;
  private refreshAgain = false;
  private firstAccountLoad = true;
  private changeTimer: ReturnType<typeof setInterval> | null = null;
  private stopped = false;
  private generation = 0;

  async start(): Promise<void> {
    const gen = ++this.generation;
    this.stopped = false;
    this.knownOpen.clear();
    this.knownClosed.clear();
    this.firstAccountLoad = true;
    store.reset();
    // Assets, history, prices, the account and the socket are all requested at once: waiting for
    // one before asking for the next put several round trips between first paint and a usable ticket.
    // Asked again until they come: without assets the ticket cannot trade, and history would say "Loading…" for good.
    const assets = this.untilLoaded(gen, () => trading.getAssets());
    void this.untilLoaded(gen, () => this.loadHistory(true));
    this.stream = new LiveStream({
      onPrices: (p) => this.applyPrices(p),
      refreshAccount: () => this.refreshAccount(),
      onPush: (m) => this.onPush(m),
      onMode: (mode) => store.set({ mode }),
    });
    this.stream.start();
    const infos = ((await assets) ?? []).map(toAsset);
    if (gen !== this.generation) return;
    store.set((s) => ({ assets: infos, selected: s.selected ?? infos[0]?.symbol ?? null }));
    void this.load24hChange();
    this.changeTimer = setInterval(() => void this.load24hChange(), 5 * 60_000);
  }

  /** The result of <load>, asked again after a failure (backing off from 1 s to 30 s); null once this start is over. */
  private async untilLoaded<T>(gen: number, load: () => Promise<T>): Promise<T | null> {
    for (let delay = 1000; gen === this.generation; delay = Math.min(delay * 2, 30_000)) {
      try {
        return await load();
      } catch {
        await sleep(delay);
      }
    }
    return null;
  }

  stop(): void {
    this.generation++;
    this.stopped = true;
    this.stream?.stop();
    this.stream = null;
    if (this.changeTimer) clearInterval(this.changeTimer);
    this.changeTimer = null;
  }

  onTick(l: TickListener): () => void {
    this.tickListeners.add(l);
    return () => this.tickListeners.delete(l);
  }

  select(asset: string): void {
    store.set({ selected: asset });
  }

  // ---- prices ----

  applyPrices(list: PriceView[]): void {
    if (!list.length) return;
    const quotes = { ...store.get().quotes };
    let changed = false;
    for (const p of list) {
      const prev = quotes[p.asset];
      const ts = Number(p.timestamp) || Date.now();
      if (prev && prev.ts === ts && prev.bid === parseFixed(p.bid, 8, 'floor')) continue;
      if (prev && ts < prev.ts) continue; // a poll answered after a newer pushed price: older news
      const q = toQuote(p.asset, p.bid, p.ask, ts, prev);
      if (!q) continue;
      quotes[p.asset] = q;
      changed = true;
      const bid = Number(p.bid);
      this.ticks.add(p.asset, ts, bid);
      for (const l of this.tickListeners) l(p.asset, ts, bid);
    }
    if (changed) store.set({ quotes });
  }

  /** The price 24 h ago per asset (open of the first hourly candle), when the candles API exists. */
  private async load24hChange(): Promise<void> {
    const now = Date.now();
    const open24h: Record<string, number | null> = {};
    for (const a of store.get().assets) {
      try {
        const candles = await fetchCandles(a.symbol, '1h', { from: now - 24 * 3600_000, to: now, limit: 25 });
        if (candles === null) return; // no candles endpoint yet: 24 h change unknown
        open24h[a.symbol] = candles[0]?.open ?? null;
      } catch {
        open24h[a.symbol] = null;
      }
    }
    store.set({ open24h });
  }

  // ---- account ----

  /** Coalesces concurrent refreshes: callers during one in flight get one more run after it. */
  refreshAccount(): Promise<void> {
    if (this.refreshing) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      try {
        do {
          this.refreshAgain = false;
          await this.refreshOnce();
        } while (this.refreshAgain && !this.stopped);
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  private async refreshOnce(stale = 0): Promise<void> {
    const sentAt = this.changes;
    const [balance, open] = await Promise.all([trading.getBalance(), trading.getOpenTrades()]);
    if (this.stopped) return;
    // Older than what the screen shows: read again (a few times at most: a burst of pushes must not starve the screen).
    if (this.changes !== sentAt && stale < 3) return this.refreshOnce(stale + 1);
    const positions = open.map(toPosition).filter((p) => !this.knownClosed.has(p.id));
    const ids = new Set(positions.map((p) => p.id));
    const gone = [...this.knownOpen].filter((id) => !ids.has(id));
    this.knownOpen = ids;
    store.set({ balance: toBalance(balance), positions });
    if (this.firstAccountLoad) {
      this.firstAccountLoad = false;
      return;
    }
    // Not awaited: history may take its time to show a close, and the account must not wait for it.
    const unannounced = gone.filter((id) => !this.closingHere.has(id) && !this.toasted.has(id));
    if (unannounced.length) void this.announceCloses(unannounced).catch(() => undefined);
  }

  /** Positions that disappeared: find why in the history and toast SL / TP / liquidation. */
  private async announceCloses(ids: string[]): Promise<void> {
    const page = await this.historyWith(ids);
    for (const id of ids) {
      if (this.closingHere.has(id) || this.toasted.has(id)) continue;
      const t = page.find((x) => x.tradeId === id);
      if (t) this.toastHistoryClose(t);
    }
  }

  /**
   * The first page of history once it holds these closes: the audit trail may lag the engine
   * (the exchange then answers with the history written so far), so it asks again, backing off,
   * for about half a minute.
   */
  private historyWith(ids: string[], retries = 6): Promise<ClosedTradeView[]> {
    return this.historyUntil((page) => ids.every((id) => page.some((t) => t.tradeId === id)), retries);
  }

  /** The first page of history, read again (backing off from 0.5 s) until <done> accepts it or the retries run out. */
  private async historyUntil(done: (page: ClosedTradeView[]) => boolean, retries = 6): Promise<ClosedTradeView[]> {
    const gen = this.generation;
    for (let attempt = 0, delay = 500; gen === this.generation; attempt++, delay *= 2) {
      const page = (await this.loadHistory(true).catch(() => null)) ?? [];
      if (attempt === retries || done(page)) return page;
      await sleep(delay);
    }
    return [];
  }

  /**
   * Reads history until the pushed closes are in it (the audit trail may lag the engine), once
   * for a whole burst: a crash tick can liquidate dozens of a trader's positions at once, and a
   * read each, asked again up to seven times, would flood the exchange.
   */
  private showInHistory(id: string): void {
    this.closesToShow.add(id);
    this.showingCloses ??= (async () => {
      try {
        await this.refreshAccount().catch(() => undefined);
        // Closes pushed while it reads join the set, and are looked for in the next read.
        await this.historyUntil((page) => {
          for (const t of page) this.closesToShow.delete(t.tradeId);
          return this.closesToShow.size === 0;
        });
      } finally {
        this.closesToShow.clear();
        this.showingCloses = null;
      }
    })();
  }

  private toastClose(id: string, asset: string, direction: string, reason: string, pnl: bigint | null, closePrice?: string | null): void {
    if (this.toasted.has(id)) return;
    this.toasted.add(id);
    const kind = REASON_KIND[reason] ?? 'info';
    const label = REASON_LABEL[reason] ?? reason;
    const name = asset.replace('_', '/');
    const title = kind === 'liquidation' ? `${name} ${direction} liquidated` : `${name} ${direction} closed: ${label.toLowerCase()}`;
    const parts = [];
    if (closePrice) parts.push(`at ${showPrice(closePrice)}`);
    if (pnl !== null) parts.push(`PnL ${showUsd(pnl)} USD`);
    pushToast(kind, title, parts.join(' · '), kind === 'liquidation' ? 10000 : 7000);
  }

  async loadHistory(reset: boolean): Promise<ClosedTradeView[] | null> {
    const gen = this.generation;
    try {
      const cursor = reset ? null : store.get().historyCursor;
      if (!reset && !cursor) return null;
      const page = await trading.getClosedTrades(50, cursor);
      // Signed out meanwhile: the page is the previous trader's, and the store is the next one's.
      if (gen !== this.generation) return null;
      store.set((s) => {
        const have = new Set(page.trades.map((t) => t.tradeId));
        if (reset) {
          // A newer first page; the older pages the trader loaded (and their cursor) stay when
          // it reaches them. A full page that shares no trade with them may have more closes
          // behind it than one page holds: the older pages go, rather than show a gap.
          const reaches = page.nextCursor === null || s.history.some((t) => have.has(t.tradeId));
          const extended = s.history.length > page.trades.length && reaches; // a null cursor there means every page is loaded
          const rest = extended ? s.history.filter((t) => !have.has(t.tradeId)) : [];
          return { history: [...page.trades, ...rest], historyCursor: extended ? s.historyCursor : page.nextCursor, historyLoaded: true };
        }
        // The first page was read again while this one loaded: it may have pushed trades past
        // the end it now shows, which this page (read from the old end) would skip. Dropped;
        // "Load more" reads on from the new end.
        if (s.historyCursor !== cursor) return {};
        const known = new Set(s.history.map((t) => t.tradeId));
        return { history: [...s.history, ...page.trades.filter((t) => !known.has(t.tradeId))], historyCursor: page.nextCursor, historyLoaded: true };
      });
      return page.trades;
    } catch (e) {
      if (e instanceof ApiError && e.code === 'ACCOUNT_NOT_FOUND') {
        store.set({ historyLoaded: true });
        return [];
      }
      throw e;
    }
  }

  private onPush(m: PushMessage): void {
    switch (m.type) {
      case 'trade_closed': {
        this.changes++;
        const t = m as Extract<PushMessage, { type: 'trade_closed' }>;
        if (this.toasted.has(t.tradeId)) {
          // announced already (this page's own close, answered before its push)
        } else if (this.closingHere.has(t.tradeId)) this.pushedCloses.set(t.tradeId, t); // the close's own answer tells, or this does if it fails
        else this.toastPushedClose(t);
        this.knownOpen.delete(t.tradeId);
        this.knownClosed.add(t.tradeId);
        // gone now: a balance that follows already holds the payout, so the position must not count twice in equity
        store.set((s) => ({ positions: s.positions.filter((p) => p.id !== t.tradeId) }));
        this.showInHistory(t.tradeId);
        break;
      }
      case 'trade_opened':
        this.changes++;
        void this.refreshAccount();
        break;
      case 'balance': {
        const b = m as Extract<PushMessage, { type: 'balance' }>;
        if (b.balances && b.lockedMargin != null && b.equity != null) {
          this.changes++;
          store.set({ balance: toBalance({ balances: b.balances, lockedMargin: b.lockedMargin, equity: b.equity }) });
        }
        break;
      }
      default:
        break;
    }
  }

  private toastPushedClose(t: Extract<PushMessage, { type: 'trade_closed' }>): void {
    this.toastClose(t.tradeId, t.asset ?? '', t.direction ?? '', t.reason ?? t.closeReason ?? 'MANUAL', realizedPnl(t), t.closePrice);
  }

  private toastHistoryClose(t: ClosedTradeView): void {
    this.toastClose(t.tradeId, t.asset, t.direction, t.closeReason ?? 'MANUAL', realizedPnl(t), t.closePrice);
  }

  // ---- actions ----

  async open(input: trading.OpenTradeInput): Promise<void> {
    const order = JSON.stringify([input.asset, input.direction, input.margin.trim(), input.leverage,
      input.stopLossPrice?.trim() ?? '', input.takeProfitPrice?.trim() ?? '']);
    const gen = this.generation;
    const t = await this.retryKeys.send(`open ${order}`, (key) => trading.openTrade(input, key));
    if (gen !== this.generation) return; // signed out meanwhile: not news for whoever is on screen now
    this.changes++;
    if (this.knownOpen.has(t.tradeId)) {
      // the retry was answered with the first attempt's trade, already on screen
      pushToast('info', 'Order already placed', 'The first attempt went through; no second trade was opened.');
      return;
    }
    this.knownOpen.add(t.tradeId);
    const qty = formatFixed(parseFixed(t.quantity, QTY_SCALE, 'floor') ?? 0n, QTY_SCALE);
    pushToast('opened', `${t.direction} ${t.asset.replace('_', '/')} opened`, `${qty} @ ${showPrice(t.openPrice)} · liq. ${showPrice(t.liquidationPrice)}`);
    await this.refreshAccount().catch(() => undefined);
  }

  async close(tradeId: string): Promise<void> {
    this.closingHere.add(tradeId);
    // named before the close: the answer does not say which position it was
    const p = store.get().positions.find((x) => x.id === tradeId);
    try {
      const r = await this.retryKeys.send(`close ${tradeId}`, (key) => trading.closeTrade(tradeId, key));
      this.changes++;
      this.knownClosed.add(tradeId);
      // gone now, as on a pushed close (the equity counts its margin until the balance catches up)
      store.set((s) => ({ positions: s.positions.filter((x) => x.id !== tradeId) }));
      this.toasted.add(tradeId);
      const pnl = usd(r.pnl);
      pushToast('manual', p ? `${positionLabel(p)} closed` : 'Position closed', `at ${showPrice(r.closePrice)} · PnL ${pnl === null ? r.pnl : showUsd(pnl)} USD`);
    } catch (e) {
      this.closingHere.delete(tradeId);
      const pushed = this.pushedCloses.get(tradeId);
      this.pushedCloses.delete(tradeId);
      // The exchange closed it meanwhile (liquidation, stop-loss, take-profit): its row is gone, so say how.
      if (pushed) this.toastPushedClose(pushed);
      if (!(e instanceof ApiError && e.code === 'TRADE_NOT_FOUND')) throw e;
      // Not found: closed as the trader clicked. Say so, not "failed".
      if (!pushed) {
        const closed = (await this.historyWith([tradeId], 3)).find((t) => t.tradeId === tradeId);
        if (!closed) throw e;
        this.knownClosed.add(tradeId);
        this.toastHistoryClose(closed);
      }
    }
    this.pushedCloses.delete(tradeId);
    this.knownOpen.delete(tradeId);
    await this.refreshAccount().catch(() => undefined);
    await this.loadHistory(true).catch(() => undefined);
  }
}
