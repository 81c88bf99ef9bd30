// The terminal's state in one small external store (no state library): components read slices
// with useStore(selector); the controller (live/controller.ts) writes to it.

import { useSyncExternalStore } from 'react';
import type { ClosedTradeView, Direction, OpenTradeView } from '../api/types';
import { decimalsOf, parseFixed, PRICE_SCALE, QTY_SCALE, USD_SCALE } from '../lib/fixed';
import { mmrToPpm } from '../lib/positionMath';

export interface AssetInfo {
  symbol: string; // BTC_USDC
  base: string; // BTC
  quote: string; // USDC
  maxLeverage: number;
  mmrPpm: bigint;
  minMargin: bigint | null; // cents
  maxMargin: bigint | null;
}

export interface Quote {
  asset: string;
  bid: bigint; // 1e-8
  ask: bigint;
  ts: number; // unix ms
  decimals: number; // display decimals for this asset's prices
  move: 'up' | 'down' | null; // bid vs the previous quote
}

export interface Position {
  id: string;
  asset: string;
  direction: Direction;
  openPrice: bigint;
  quantity: bigint;
  margin: bigint;
  leverage: number;
  liquidationPrice: bigint;
  stopLoss: bigint | null;
  takeProfit: bigint | null;
  openedAt: number;
  serverPnl: bigint; // unrealized PnL at the last poll (used until a live quote arrives)
}

export interface Balance {
  free: bigint; // cents
  locked: bigint;
  equity: bigint; // as the server computed it at the last poll
}

export type ToastKind = 'liquidation' | 'stop-loss' | 'take-profit' | 'manual' | 'opened' | 'error' | 'info';

export interface Toast {
  id: number;
  kind: ToastKind;
  title: string;
  body?: string;
}

export type Mode = 'connecting' | 'push' | 'poll' | 'offline';

export interface State {
  assets: AssetInfo[];
  quotes: Record<string, Quote>;
  open24h: Record<string, number | null>; // price 24 h ago (display only), when known
  balance: Balance | null;
  positions: Position[];
  history: ClosedTradeView[];
  historyCursor: string | null;
  historyLoaded: boolean;
  toasts: Toast[];
  mode: Mode;
  selected: string | null;
}

export const initialState: State = {
  assets: [],
  quotes: {},
  open24h: {},
  balance: null,
  positions: [],
  history: [],
  historyCursor: null,
  historyLoaded: false,
  toasts: [],
  mode: 'connecting',
  selected: null,
};

type Listener = () => void;

export class Store {
  private state: State = initialState;
  private listeners = new Set<Listener>();

  get = (): State => this.state;

  set = (patch: Partial<State> | ((s: State) => Partial<State>)): void => {
    const p = typeof patch === 'function' ? patch(this.state) : patch;
    this.state = { ...this.state, ...p };
    for (const l of this.listeners) l();
  };

  subscribe = (l: Listener): (() => void) => {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  };

  reset(): void {
    this.state = initialState;
    for (const l of this.listeners) l();
  }
}

export const store = new Store();

export function useStore<T>(selector: (s: State) => T): T {
  return useSyncExternalStore(store.subscribe, () => selector(store.get()));
}

// ---- converting wire shapes ----

export function toAsset(a: { symbol: string; maxLeverage: string; maintenanceMarginRate: string; minMargin: string; maxMargin: string }): AssetInfo {
  const [base, quote = 'USD'] = a.symbol.split('_');
  return {
    symbol: a.symbol,
    base,
    quote,
    maxLeverage: Number(a.maxLeverage) || 100,
    mmrPpm: mmrToPpm(a.maintenanceMarginRate),
    minMargin: parseFixed(a.minMargin, USD_SCALE, 'ceil'),
    maxMargin: parseFixed(a.maxMargin, USD_SCALE, 'floor'),
  };
}

const price = (s: string | null | undefined) => (s == null ? null : parseFixed(s, PRICE_SCALE, 'floor'));
const cents = (s: string | null | undefined) => (s == null ? null : parseFixed(s, USD_SCALE, 'floor'));

export function toPosition(t: OpenTradeView): Position {
  return {
    id: t.tradeId,
    asset: t.asset,
    direction: t.direction,
    openPrice: price(t.openPrice) ?? 0n,
    quantity: parseFixed(t.quantity, QTY_SCALE, 'floor') ?? 0n,
    margin: cents(t.margin) ?? 0n,
    leverage: Number(t.leverage),
    liquidationPrice: price(t.liquidationPrice) ?? 0n,
    stopLoss: price(t.stopLossPrice),
    takeProfit: price(t.takeProfitPrice),
    openedAt: Number(t.openedAt),
    serverPnl: cents(t.unrealizedPnl) ?? 0n,
  };
}

export function toQuote(asset: string, bidText: string, askText: string, ts: number, previous?: Quote): Quote | null {
  const bid = parseFixed(bidText, PRICE_SCALE, 'floor');
  const ask = parseFixed(askText, PRICE_SCALE, 'ceil');
  if (bid === null || ask === null) return null;
  const decimals = Math.max(2, decimalsOf(bidText), decimalsOf(askText), previous?.decimals ?? 0);
  const move = !previous || previous.bid === bid ? previous?.move ?? null : bid > previous.bid ? 'up' : 'down';
  return { asset, bid, ask, ts, decimals: Math.min(decimals, 8), move };
}

export function toBalance(b: { balances: { USD: string }; lockedMargin: string; equity: string }): Balance {
  return { free: cents(b.balances.USD) ?? 0n, locked: cents(b.lockedMargin) ?? 0n, equity: cents(b.equity) ?? 0n };
}
