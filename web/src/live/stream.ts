// Live data: the push WebSocket when the server has one, polling otherwise.
//
// Push (protocol in web/README.md): ws(s)://<host>/api/v1/stream, authenticated by the same
// auth cookie; JSON messages { type: "price" | "prices" | "trade_opened" | "trade_closed" |
// "balance" | "ping", ... }. While the socket is open, prices come only from it and the
// account is reconciled by a slow poll (every 15 s) besides the events.
//
// Fallback: if the socket cannot be opened (no stream endpoint, the server full) or drops, prices
// are polled every second and trades + balance every 2 seconds. A socket that worked once is
// retried with back-off (starting over only after one that lasted); one that never opened is
// tried again once a minute (each failed handshake is a console error in the browser).

import { getPrices } from '../api/trading';
import type { PriceView } from '../api/types';
import { parseJsonExact } from '../lib/json';

export const STREAM_PATH = '/api/v1/stream';
export const PRICE_POLL_MS = 1000;
export const ACCOUNT_POLL_MS = 2000;
export const ACCOUNT_RECONCILE_MS = 15000;
/**
 * The server pings after 15 s in which it sent nothing, checked every 15 s, so a live link is
 * silent for under 30 s: 45 s of silence is a dead one.
 */
export const STREAM_SILENCE_MS = 45000;
/** A socket that never opened is tried again this often, while the page polls. */
export const NEVER_OPENED_RETRY_MS = 60000;
/** A socket open this long counts as working: the reconnect back-off starts over after it. */
export const SOCKET_LASTED_MS = 10000;

export type PushMessage =
  | { type: 'price'; asset: string; bid: string; ask: string; ts?: string; timestamp?: string }
  | { type: 'prices'; prices: PriceView[] }
  | { type: 'trade_opened'; tradeId?: string; trade?: unknown }
  | {
      type: 'trade_closed';
      tradeId: string;
      asset?: string;
      direction?: string;
      reason?: string;
      closeReason?: string;
      closePrice?: string;
      margin?: string;
      pnl?: string;
      payout?: string;
    }
  | { type: 'balance'; balances?: { USD: string }; lockedMargin?: string; equity?: string }
  | { type: 'ping' }
  | { type: string; [k: string]: unknown };

export interface StreamHandlers {
  onPrices(prices: PriceView[]): void;
  /** Refresh open trades and balance (and detect closes). */
  refreshAccount(): Promise<void>;
  onPush(message: PushMessage): void;
  onMode(mode: 'connecting' | 'push' | 'poll' | 'offline'): void;
}

export interface StreamOptions {
  /** Set false to skip the socket and poll only (tests, or a server known to have no push). */
  push?: boolean;
  webSocket?: typeof WebSocket;
}

export class LiveStream {
  private socket: WebSocket | null = null;
  private everOpened = false;
  private reconnectDelay = 1000;
  private openedAt = 0; // when the current socket opened; 0 while none is open
  private stopped = false;
  private timers = new Set<ReturnType<typeof setTimeout>>();
  private pushing = false;
  private pricesInFlight = false;
  private accountInFlight = false;
  private failures = 0;
  private lastMessageAt = 0;

  constructor(private readonly h: StreamHandlers, private readonly opts: StreamOptions = {}) {}

  start(): void {
    this.h.onMode('connecting');
    const WS = this.opts.webSocket ?? (typeof WebSocket !== 'undefined' ? WebSocket : undefined);
    if (this.opts.push !== false && WS) this.connect(WS);
    else this.fallBack();
    this.pollPrices();
    this.pollAccount();
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.socket) {
      this.socket.onclose = null;
      this.socket.close();
      this.socket = null;
    }
  }

  /** Ask for an account refresh now (after a trade of ours). */
  async refreshNow(): Promise<void> {
    await this.h.refreshAccount();
  }

  private later(fn: () => void, ms: number): void {
    if (this.stopped) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.stopped) fn();
    }, ms);
    this.timers.add(t);
  }

  private hidden(): boolean {
    return typeof document !== 'undefined' && document.visibilityState === 'hidden';
  }

  private connect(WS: typeof WebSocket): void {
    const loc = typeof location !== 'undefined' ? location : null;
    if (!loc) return this.fallBack();
    const url = `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}${STREAM_PATH}`;
    let socket: WebSocket;
    try {
      socket = new WS(url);
    } catch {
      return this.fallBack();
    }
    this.socket = socket;
    socket.onopen = () => {
      this.lastMessageAt = Date.now();
      this.watch(socket, WS);
      this.everOpened = true;
      this.openedAt = Date.now();
      this.pushing = true;
      this.h.onMode('push');
      void this.h.refreshAccount();
    };
    socket.onmessage = (ev) => {
      this.lastMessageAt = Date.now();
      if (typeof ev.data !== 'string') return;
      let msg: PushMessage;
      try {
        msg = parseJsonExact<PushMessage>(ev.data);
      } catch {
        return;
      }
      if (msg.type === 'ping') {
        socket.send('{"type":"pong"}');
        return;
      }
      if (msg.type === 'price') {
        const m = msg as Extract<PushMessage, { type: 'price' }>;
        this.h.onPrices([{ asset: m.asset, bid: m.bid, ask: m.ask, timestamp: m.ts ?? m.timestamp ?? String(Date.now()) }]);
        return;
      }
      if (msg.type === 'prices') {
        this.h.onPrices((msg as Extract<PushMessage, { type: 'prices' }>).prices);
        return;
      }
      this.h.onPush(msg);
    };
    socket.onclose = () => this.closed(WS);
  }

  private closed(WS: typeof WebSocket): void {
    this.socket = null;
    const wasPushing = this.pushing;
    this.pushing = false;
    this.fallBack();
    // The back-off starts over only after a socket that lasted: one the server accepts and drops
    // at once (a token it no longer takes, say) must not bring the page back every second.
    if (this.openedAt && Date.now() - this.openedAt >= SOCKET_LASTED_MS) this.reconnectDelay = 1000;
    this.openedAt = 0;
    if (!this.stopped) {
      if (this.everOpened) {
        // it worked before: the server restarted or the network blipped
        this.later(() => this.connect(WS), this.reconnectDelay);
        this.reconnectDelay = Math.min(this.reconnectDelay * 2, 30000);
      } else {
        // never opened: the server is full, limits this address, or offers no stream; polling
        // meanwhile, ask again now and then rather than poll for the page's whole life
        this.later(() => this.connect(WS), NEVER_OPENED_RETRY_MS);
      }
    }
    if (wasPushing) void this.h.refreshAccount().catch(() => undefined);
  }

  /**
   * A link that died without a close (a laptop that slept, a network that changed) can leave the
   * socket "open" for minutes with frozen prices: silence past the server's ping interval ends it,
   * and the usual fallback and reconnect follow.
   */
  private watch(socket: WebSocket, WS: typeof WebSocket): void {
    this.later(() => {
      if (this.socket !== socket) return;
      if (Date.now() - this.lastMessageAt < STREAM_SILENCE_MS) return this.watch(socket, WS);
      socket.onclose = null; // its close event may come late or never: act on it now
      socket.close();
      this.closed(WS);
    }, 5000);
  }

  private fallBack(): void {
    if (!this.stopped) this.h.onMode(this.failures > 2 ? 'offline' : 'poll');
  }

  private pollPrices(): void {
    if (this.stopped) return;
    const next = () => this.later(() => this.pollPrices(), this.hidden() ? PRICE_POLL_MS * 5 : PRICE_POLL_MS);
    if (this.pushing || this.pricesInFlight) return next();
    this.pricesInFlight = true;
    getPrices()
      .then((prices) => {
        if (this.failures > 0) {
          this.failures = 0;
          if (!this.pushing) this.h.onMode('poll');
        }
        this.h.onPrices(prices);
      })
      .catch(() => {
        this.failures++;
        if (this.failures === 3) this.h.onMode('offline');
      })
      .finally(() => {
        this.pricesInFlight = false;
        next();
      });
  }

  private pollAccount(): void {
    if (this.stopped) return;
    const interval = this.pushing ? ACCOUNT_RECONCILE_MS : ACCOUNT_POLL_MS;
    const next = () => this.later(() => this.pollAccount(), this.hidden() ? interval * 5 : interval);
    if (this.accountInFlight) return next();
    this.accountInFlight = true;
    this.h
      .refreshAccount()
      .catch(() => undefined)
      .finally(() => {
        this.accountInFlight = false;
        next();
      });
  }
}
