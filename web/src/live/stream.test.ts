import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('../api/trading', () => ({
  getPrices: vi.fn(async () => [{ asset: 'BTC_USDC', bid: '95000', ask: '95010', timestamp: '1' }]),
}));

import { LiveStream, type StreamHandlers } from './stream';

class FakeSocket {
  static last: FakeSocket | null = null;
  onopen: (() => void) | null = null;
  onmessage: ((ev: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;
  sent: string[] = [];
  constructor(public url: string) {
    FakeSocket.last = this;
  }
  send(s: string) {
    this.sent.push(s);
  }
  close() {
    this.onclose?.();
  }
}

function handlers() {
  const h = {
    prices: [] as unknown[],
    pushes: [] as unknown[],
    modes: [] as string[],
    refreshes: 0,
  };
  const api: StreamHandlers = {
    onPrices: (p) => h.prices.push(...p),
    onPush: (m) => h.pushes.push(m),
    onMode: (m) => h.modes.push(m),
    refreshAccount: async () => {
      h.refreshes++;
    },
  };
  return { h, api };
}

/** A stream over the fake socket, started. */
function started(api: StreamHandlers) {
  const s = new LiveStream(api, { webSocket: FakeSocket as unknown as typeof WebSocket });
  s.start();
  return s;
}

/** A stream whose socket has opened: prices and events come pushed. */
function pushed() {
  const { h, api } = handlers();
  const s = started(api);
  const ws = FakeSocket.last!;
  ws.onopen!();
  return { h, s, ws };
}

describe('live stream', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.stubGlobal('location', { protocol: 'http:', host: 'localhost:5173' });
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it('polls prices and the account when the socket never opens', async () => {
    const { h, api } = handlers();
    const s = started(api);
    expect(FakeSocket.last?.url).toBe('ws://localhost:5173/api/v1/stream');
    FakeSocket.last!.onclose!(); // handshake refused (404)
    expect(h.modes).toEqual(['connecting', 'poll']);
    await vi.advanceTimersByTimeAsync(4100);
    expect(h.prices.length).toBeGreaterThanOrEqual(4); // ~1 s
    expect(h.refreshes).toBeGreaterThanOrEqual(2); // ~2 s
    const sockets = FakeSocket.last;
    await vi.advanceTimersByTimeAsync(50_000);
    expect(FakeSocket.last).toBe(sockets); // not at polling speed
    await vi.advanceTimersByTimeAsync(11_000);
    expect(FakeSocket.last).not.toBe(sockets); // a minute later, once more: the server may have had no room
    FakeSocket.last!.onopen!();
    expect(h.modes.at(-1)).toBe('push');
    s.stop();
  });

  it('backs off from a socket that the server accepts and drops at once, instead of coming back every second', async () => {
    const { s, ws } = pushed();
    await vi.advanceTimersByTimeAsync(60_000);
    ws.close(); // after a socket that lasted: back in a second
    await vi.advanceTimersByTimeAsync(1_100);
    const opened: number[] = [];
    for (let i = 0; i < 4; i++) {
      const next = FakeSocket.last!;
      next.onopen!();
      opened.push(Date.now());
      next.close(); // accepted, then dropped at once
      const before = FakeSocket.last;
      while (FakeSocket.last === before) await vi.advanceTimersByTimeAsync(100);
    }
    const waits = opened.slice(1).map((t, i) => t - opened[i]);
    expect(waits[0]).toBeGreaterThanOrEqual(1_000);
    expect(waits[2]).toBeGreaterThanOrEqual(4_000); // 1 s, 2 s, 4 s …: not reset by each open
    s.stop();
  });

  it('takes prices and events from the socket and stops polling prices', async () => {
    const { h, s, ws } = pushed();
    expect(h.modes.at(-1)).toBe('push');
    await vi.advanceTimersByTimeAsync(10);
    const polled = h.prices.length;
    ws.onmessage!({ data: '{"type":"price","asset":"SOL_USDC","bid":240.10,"ask":240.20,"ts":1700000000000}' });
    ws.onmessage!({ data: '{"type":"trade_closed","tradeId":"ab","reason":"LIQUIDATION","pnl":-376.32}' });
    ws.onmessage!({ data: '{"type":"ping"}' });
    ws.onmessage!({ data: 'not json' });
    expect(h.prices.at(-1)).toEqual({ asset: 'SOL_USDC', bid: '240.10', ask: '240.20', timestamp: '1700000000000' });
    expect(h.pushes).toEqual([{ type: 'trade_closed', tradeId: 'ab', reason: 'LIQUIDATION', pnl: '-376.32' }]);
    expect(ws.sent).toEqual(['{"type":"pong"}']);
    await vi.advanceTimersByTimeAsync(5000);
    expect(h.prices.length).toBe(polled + 1); // no polling while pushed

    // the socket drops: back to polling at once, and reconnect with back-off
    ws.close();
    expect(h.modes.at(-1)).toBe('poll');
    await vi.advanceTimersByTimeAsync(1100);
    expect(FakeSocket.last).not.toBe(ws);
    expect(h.prices.length).toBeGreaterThan(polled + 1);
    s.stop();
  });

  it('drops a socket that has gone silent past the server\'s ping interval, polls, and reconnects', async () => {
    const { h, s, ws } = pushed();
    await vi.advanceTimersByTimeAsync(29_000);
    ws.onmessage!({ data: '{"type":"ping"}' }); // alive so far
    await vi.advanceTimersByTimeAsync(40_000);
    expect(h.modes.at(-1)).toBe('push');

    await vi.advanceTimersByTimeAsync(10_000); // 50 s of silence: the link is dead though no close came
    expect(h.modes.at(-1)).toBe('poll');
    await vi.advanceTimersByTimeAsync(1100);
    expect(FakeSocket.last).not.toBe(ws);
    s.stop();
  });
});
