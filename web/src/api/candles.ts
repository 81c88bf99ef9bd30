// Candle history: GET /api/v1/candles?asset=BTC_USDC&interval=1m&from=<unix ms>&to=<unix ms>&limit=500
// answers an array of { time (unix ms or s), open, high, low, close } (or { candles: [...] };
// short keys t/o/h/l/c accepted). A server without the endpoint (404) gets candles built in the
// browser from the ticks this page has seen.

import { ApiError, request } from './http';

export type Interval = '1m' | '5m' | '15m' | '1h' | '4h' | '1d';

export const INTERVALS: { id: Interval; label: string; seconds: number }[] = [
  { id: '1m', label: '1m', seconds: 60 },
  { id: '5m', label: '5m', seconds: 300 },
  { id: '15m', label: '15m', seconds: 900 },
  { id: '1h', label: '1H', seconds: 3600 },
  { id: '4h', label: '4H', seconds: 14400 },
  { id: '1d', label: '1D', seconds: 86400 },
];

export function intervalSeconds(interval: Interval): number {
  return INTERVALS.find((i) => i.id === interval)?.seconds ?? 60;
}

/** A candle for the chart: time is the bucket start in Unix seconds; prices are display numbers. */
export interface Candle {
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
}

let available: boolean | null = null; // null: not asked yet
let probe: Promise<unknown> | null = null; // the first request, which tells whether the endpoint exists

/** Whether the server has a candles endpoint (false once it answered 404). */
export function candlesAvailable(): boolean | null {
  return available;
}

type RawCandle = Record<string, string | number | undefined>;

function num(v: string | number | undefined): number {
  return typeof v === 'number' ? v : v === undefined ? Number.NaN : Number(v);
}

export function normaliseCandle(raw: RawCandle | (string | number)[]): Candle | null {
  let t: number, o: number, h: number, l: number, c: number;
  if (Array.isArray(raw)) {
    [t, o, h, l, c] = raw.slice(0, 5).map((x) => num(x));
  } else {
    t = num(raw.time ?? raw.t ?? raw.openTime ?? raw.timestamp ?? raw.start);
    o = num(raw.open ?? raw.o);
    h = num(raw.high ?? raw.h);
    l = num(raw.low ?? raw.l);
    c = num(raw.close ?? raw.c);
  }
  if (![t, o, h, l, c].every(Number.isFinite)) return null;
  const seconds = t > 1e11 ? Math.floor(t / 1000) : Math.floor(t); // ms or s
  return { time: seconds, open: o, high: h, low: l, close: c };
}

/**
 * Candle history from the server, oldest first; null when the server has no candles endpoint
 * (then the caller builds candles from ticks).
 */
export async function fetchCandles(
  asset: string,
  interval: Interval,
  opts: { from?: number; to?: number; limit?: number; signal?: AbortSignal } = {},
): Promise<Candle[] | null> {
  if (available === null && probe) await probe.catch(() => undefined); // one 404 per page, not one per caller
  if (available === false) return null;
  const q = new URLSearchParams({ asset, interval, limit: String(opts.limit ?? 500) });
  if (opts.from !== undefined) q.set('from', String(opts.from));
  if (opts.to !== undefined) q.set('to', String(opts.to));
  try {
    const call = request<unknown>('GET', `/candles?${q}`, { signal: opts.signal });
    if (available === null && !probe) probe = call;
    const body = await call;
    available = true;
    const list = (Array.isArray(body) ? body : (body as { candles?: unknown[] })?.candles ?? []) as RawCandle[];
    const candles = list.map(normaliseCandle).filter((x): x is Candle => x !== null);
    candles.sort((a, b) => a.time - b.time);
    return dedupe(candles);
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 405 || e.status === 501)) {
      available = false;
      return null;
    }
    throw e;
  }
}

function dedupe(candles: Candle[]): Candle[] {
  const out: Candle[] = [];
  for (const c of candles) {
    if (out.length && out[out.length - 1].time === c.time) out[out.length - 1] = c;
    else out.push(c);
  }
  return out;
}

/** Folds one tick into a candle list (in place); returns the candle that changed. */
export function applyTick(candles: Candle[], tsMs: number, price: number, bucketSeconds: number): Candle {
  const time = Math.floor(tsMs / 1000 / bucketSeconds) * bucketSeconds;
  const last = candles[candles.length - 1];
  if (last && last.time === time) {
    last.high = Math.max(last.high, price);
    last.low = Math.min(last.low, price);
    last.close = price;
    return last;
  }
  if (last && last.time > time) return last; // a late tick for an older bucket: ignore
  // Opened by its first tick, as the exchange's own candles are: the chart reads the same after a reload.
  const candle = { time, open: price, high: price, low: price, close: price };
  candles.push(candle);
  return candle;
}

/** Ticks seen by this page, per asset, so the chart can be rebuilt for any interval. */
export class TickBook {
  private ticks = new Map<string, { t: number[]; p: number[] }>();

  constructor(private readonly cap = 200_000) {}

  add(asset: string, tsMs: number, price: number): void {
    let s = this.ticks.get(asset);
    if (!s) this.ticks.set(asset, (s = { t: [], p: [] }));
    const lastT = s.t[s.t.length - 1];
    if (lastT !== undefined && tsMs < lastT) return;
    if (lastT === tsMs && s.p[s.p.length - 1] === price) return; // the same quote polled again
    s.t.push(tsMs);
    s.p.push(price);
    if (s.t.length > this.cap) {
      s.t.splice(0, s.t.length - this.cap);
      s.p.splice(0, s.p.length - this.cap);
    }
  }

  candles(asset: string, bucketSeconds: number, after = 0): Candle[] {
    const s = this.ticks.get(asset);
    const out: Candle[] = [];
    if (!s) return out;
    for (let i = 0; i < s.t.length; i++) if (s.t[i] >= after) applyTick(out, s.t[i], s.p[i], bucketSeconds);
    return out;
  }
}
