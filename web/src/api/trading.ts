import { decimal } from '../lib/json';
import { ApiError, newIdempotencyKey, request } from './http';
import type {
  AssetView, BalanceData, ClosedTradeView, CloseTradeData, Direction, OpenTradeView, PriceView, TradeData, TradePage,
} from './types';

/** Creates the trader's engine account (demo balance); an existing one is fine. */
export async function ensureAccount(): Promise<void> {
  try {
    await request('POST', '/engine', { body: { command: 'CREATE_ACCOUNT' } });
  } catch (e) {
    if (e instanceof ApiError && e.code === 'ACCOUNT_EXISTS') return;
    throw e;
  }
}

/** The balance; creates the account first if this user never got one (e.g. sign-up was interrupted). */
export async function getBalance(): Promise<BalanceData> {
  try {
    return await request<BalanceData>('GET', '/balance');
  } catch (e) {
    if (e instanceof ApiError && e.code === 'ACCOUNT_NOT_FOUND') {
      await ensureAccount();
      return request<BalanceData>('GET', '/balance');
    }
    throw e;
  }
}

export function getAssets(): Promise<AssetView[]> {
  return request<AssetView[]>('GET', '/assets');
}

export function getPrices(signal?: AbortSignal): Promise<PriceView[]> {
  return request<PriceView[]>('GET', '/prices', { signal });
}

export async function getOpenTrades(): Promise<OpenTradeView[]> {
  try {
    return (await request<TradePage<OpenTradeView>>('GET', '/trades?status=open')).trades;
  } catch (e) {
    if (e instanceof ApiError && e.code === 'ACCOUNT_NOT_FOUND') return [];
    throw e;
  }
}

export function getClosedTrades(limit = 50, before?: string | null): Promise<TradePage<ClosedTradeView>> {
  const q = new URLSearchParams({ status: 'closed', limit: String(limit) });
  if (before) q.set('before', before);
  return request<TradePage<ClosedTradeView>>('GET', `/trades?${q}`);
}

export interface OpenTradeInput {
  asset: string;
  direction: Direction;
  margin: string; // exact decimal text as typed
  leverage: number;
  stopLossPrice?: string;
  takeProfitPrice?: string;
}

export function openTrade(t: OpenTradeInput, idempotencyKey = newIdempotencyKey()): Promise<TradeData> {
  const body: Record<string, unknown> = {
    asset: t.asset,
    direction: t.direction,
    margin: decimal(t.margin),
    leverage: t.leverage,
  };
  if (t.stopLossPrice?.trim()) body.stopLossPrice = decimal(t.stopLossPrice);
  if (t.takeProfitPrice?.trim()) body.takeProfitPrice = decimal(t.takeProfitPrice);
  return request<TradeData>('POST', '/trades', { body, idempotencyKey });
}

export function closeTrade(tradeId: string, idempotencyKey = newIdempotencyKey()): Promise<CloseTradeData> {
  return request<CloseTradeData>('POST', `/trades/${encodeURIComponent(tradeId)}/close`, { idempotencyKey });
}
