#!/usr/bin/env node
// A stand-in for the exchange's HTTP API, for developing and screenshotting the web UI without
// the .NET server: `npm run mock` (port 3099), then `EXCHANGE_API=http://localhost:3099 npm run dev`,
// or open http://localhost:3099 to get the built web/dist served the way the server will.
// Not the engine: in-memory, one process, simplified rules; the money maths mirror docs/engine.md.
//   --port=N        listen port (default 3099)
//   --candles       serve GET /api/v1/candles from the ticks seen (default: 404, like today's server)
//   --ws            serve the push WebSocket at /api/v1/stream (default: none, like today's server)
//   --volatile      bigger random-walk steps (to see SL / TP / liquidation quickly)
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = Object.fromEntries(process.argv.slice(2).map((a) => { const [k, v] = a.replace(/^--/, '').split('='); return [k, v ?? true]; }));
const PORT = Number(args.port ?? process.env.PORT ?? 3099);
const DIST = fileURLToPath(new URL('../dist/', import.meta.url));

// ---------- fixed point (BigInt), as in src/lib/fixed.ts ----------
const floorDiv = (a, b) => { const q = a / b; return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q; };
const ceilDiv = (a, b) => { const q = a / b; return (a % b !== 0n && (a < 0n) === (b < 0n)) ? q + 1n : q; };
const fmt = (u, scale) => { const neg = u < 0n; const a = neg ? -u : u; const b = 10n ** BigInt(scale); let f = (a % b).toString().padStart(scale, '0').replace(/0+$/, ''); return (neg ? '-' : '') + (a / b) + (f ? '.' + f : ''); };
const parse = (v, scale) => { const s = String(v); const m = /^(-)?(\d*)(?:\.(\d*))?$/.exec(s); if (!m || (m[2] + (m[3] ?? '')) === '') return null; const frac = m[3] ?? ''; if (frac.length > scale) return null; const u = BigInt((m[2] || '0') + frac.padEnd(scale, '0')); return m[1] ? -u : u; };
class Num { constructor(t) { this.t = t; } }
const usd = (c) => new Num(fmt(c, 2));
const px = (p) => new Num(fmt(p, 8));
const json = (v) => { const marks = []; const s = JSON.stringify(v, (_k, x) => x instanceof Num ? (marks.push(x.t), `\u0000n${marks.length - 1}\u0000`) : x); return s.replace(/"\\u0000n(\d+)\\u0000"/g, (_m, i) => marks[+i]); };
// read the body keeping numbers as text
const parseExact = (text) => JSON.parse(text.replace(/("(?:[^"\\]|\\.)*")|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g, (m, str, num) => str ?? `"${num}"`));

// ---------- market ----------
const ASSETS = [
  { symbol: 'BTC_USDC', price: 95000n * 10n ** 8n, spread: 10n * 10n ** 8n, step: 30n },
  { symbol: 'ETH_USDC', price: 3500n * 10n ** 8n, spread: 1n * 10n ** 8n, step: 2n },
  { symbol: 'SOL_USDC', price: 240n * 10n ** 8n, spread: 10n ** 7n, step: 60n },
];
const MMR_PPM = 5000n;
const quotes = new Map(); // symbol -> { bid, ask, ts }
const ticks = new Map(ASSETS.map((a) => [a.symbol, []]));
const volatile = !!args.volatile;
function tick() {
  const now = Date.now();
  for (const a of ASSETS) {
    // random walk in basis points of the price: ±step/100 % per tick
    const bp = BigInt(Math.round((Math.random() - 0.5) * 2 * Number(a.step) * (volatile ? 8 : 1)));
    a.price = a.price + (a.price * bp) / 1_000_000n;
    const cents = 10n ** 6n; // round mids to 0.01
    const bid = (a.price / cents) * cents;
    const q = { bid, ask: bid + a.spread, ts: now };
    quotes.set(a.symbol, q);
    const list = ticks.get(a.symbol); list.push([now, bid]); if (list.length > 200000) list.shift();
    settleTriggers(a.symbol, q);
    broadcast({ type: 'price', asset: a.symbol, bid: px(q.bid), ask: px(q.ask), ts: new Num(String(now)) });
  }
}

// ---------- accounts and trades ----------
const users = new Map(); // email -> { id, email, password, createdAt }
const sessions = new Map(); // token -> userId
const accounts = new Map(); // userId -> { free, locked }
const open = new Map(); // tradeId -> trade
const closed = []; // newest last

const quantityFor = (marginCents, lev, price) => floorDiv(marginCents * BigInt(lev) * 10n ** 14n, price);
const pnlFor = (t, exit) => floorDiv((t.direction === 'LONG' ? exit - t.openPrice : t.openPrice - exit) * t.quantity, 10n ** 14n);
const liqFor = (dir, open, lev) => { const L = BigInt(lev), M = 1_000_000n; return dir === 'LONG' ? ceilDiv(open * (L * M - M + L * MMR_PPM), L * M) : floorDiv(open * (L * M + M - L * MMR_PPM), L * M); };
const closingPrice = (t, q) => (t.direction === 'LONG' ? q.bid : q.ask);

function settle(t, reason, price) {
  const pnl = pnlFor(t, price);
  const payout = reason === 'LIQUIDATION' ? 0n : (t.margin + pnl > 0n ? t.margin + pnl : 0n);
  const acct = accounts.get(t.owner);
  acct.locked -= t.margin; acct.free += payout;
  open.delete(t.id);
  const done = { ...t, closePrice: price, closeReason: reason, pnl, payout, closedAt: Date.now() };
  closed.push(done);
  sendTo(t.owner, { type: 'trade_closed', tradeId: t.id, asset: t.asset, direction: t.direction, reason, closePrice: px(price), margin: usd(t.margin), pnl: usd(pnl), payout: usd(payout), closedAt: new Num(String(done.closedAt)) });
  sendTo(t.owner, { type: 'balance', ...balanceView(t.owner) });
  return done;
}

function settleTriggers(symbol, q) {
  for (const t of [...open.values()]) {
    if (t.asset !== symbol) continue;
    const p = closingPrice(t, q);
    const long = t.direction === 'LONG';
    const stop = t.stopLoss !== null && (long ? p <= t.stopLoss : p >= t.stopLoss);
    const liq = long ? p <= t.liquidationPrice : p >= t.liquidationPrice;
    const tp = t.takeProfit !== null && (long ? p >= t.takeProfit : p <= t.takeProfit);
    if (stop) settle(t, 'STOP_LOSS', p); else if (liq) settle(t, 'LIQUIDATION', p); else if (tp) settle(t, 'TAKE_PROFIT', p);
  }
}

function equityOf(userId) {
  const a = accounts.get(userId);
  let e = a.free;
  for (const t of open.values()) if (t.owner === userId) { const m = t.margin + pnlFor(t, closingPrice(t, quotes.get(t.asset))); if (m > 0n) e += m; }
  return e;
}
const balanceView = (u) => { const a = accounts.get(u); return { balances: { USD: usd(a.free) }, lockedMargin: usd(a.locked), equity: usd(equityOf(u)), freeMargin: usd(a.free) }; };
const tradeView = (t) => ({ tradeId: t.id, asset: t.asset, direction: t.direction, openPrice: px(t.openPrice), quantity: new Num(fmt(t.quantity, 8)), margin: usd(t.margin), leverage: t.leverage, liquidationPrice: px(t.liquidationPrice), stopLossPrice: t.stopLoss === null ? null : px(t.stopLoss), takeProfitPrice: t.takeProfit === null ? null : px(t.takeProfit), openedAt: new Num(String(t.openedAt)) });

// ---------- http ----------
const problem = (res, status, code, detail) => send(res, status, { type: `https://exchange.dev/problems/${code.toLowerCase().replace(/_/g, '-')}`, title: code, status, detail, code }, 'application/problem+json');
function send(res, status, body, type = 'application/json', headers = {}) {
  const text = body === undefined ? '' : json(body);
  res.writeHead(status, { 'Content-Type': type, ...headers });
  res.end(text);
}
const cookieOf = (req) => /(?:^|;\s*)authToken=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
const userOf = (req) => sessions.get(cookieOf(req) ?? (req.headers.authorization ?? '').replace(/^Bearer /, ''));
const readBody = (req) => new Promise((ok) => { let s = ''; req.on('data', (c) => (s += c)); req.on('end', () => { try { ok(s ? parseExact(s) : {}); } catch { ok(null); } }); });

function signIn(res, user, status) {
  const token = randomBytes(24).toString('hex');
  sessions.set(token, user.id);
  send(res, status, { user: { id: user.id, email: user.email, createdAt: new Num(String(user.createdAt)) }, token, expiresAt: new Num(String(Date.now() + 86400000)) },
    'application/json', { 'Set-Cookie': `authToken=${token}; Path=/; HttpOnly; SameSite=Strict` });
}

async function api(req, res, url) {
  const path = url.pathname.replace(/^\/api\/v1/, '');
  const m = req.method;
  if (m === 'POST' && (path === '/auth/signup' || path === '/auth/signin')) {
    const b = await readBody(req);
    if (!b) return problem(res, 400, 'INVALID_JSON', 'The body is not valid JSON.');
    const email = String(b.email ?? '').trim().toLowerCase();
    if (path === '/auth/signup') {
      if (!email) return problem(res, 400, 'MISSING_FIELD', "The field 'email' is required.");
      if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) return problem(res, 400, 'INVALID_EMAIL', 'The email address is not valid.');
      if (!b.password) return problem(res, 400, 'MISSING_FIELD', "The field 'password' is required.");
      if (String(b.password).length < 8) return problem(res, 400, 'PASSWORD_TOO_SHORT', 'The password needs at least 8 characters.');
      if (users.has(email)) return problem(res, 409, 'EMAIL_TAKEN', 'An account with this email already exists; sign in instead.');
      const user = { id: randomUUID(), email, password: String(b.password), createdAt: Date.now() };
      users.set(email, user);
      return signIn(res, user, 201);
    }
    const user = users.get(email);
    if (!user || user.password !== b.password) return problem(res, 401, 'INVALID_CREDENTIALS', 'The email or password is wrong.');
    return signIn(res, user, 200);
  }
  if (m === 'POST' && path === '/auth/signout') { res.writeHead(204, { 'Set-Cookie': 'authToken=; Path=/; Max-Age=0' }); return res.end(); }
  if (m === 'GET' && path === '/assets') return send(res, 200, ASSETS.map((a) => ({ symbol: a.symbol, maxLeverage: 100, maintenanceMarginRate: new Num('0.005'), minMargin: new Num('1'), maxMargin: new Num('10000000') })));
  if (m === 'GET' && path === '/prices') return send(res, 200, [...quotes].map(([asset, q]) => ({ asset, bid: px(q.bid), ask: px(q.ask), timestamp: new Num(String(q.ts)) })));
  if (m === 'GET' && path === '/candles') {
    if (!args.candles) return problem(res, 404, 'NOT_FOUND', 'Not found.');
    const sec = { '1m': 60, '5m': 300, '15m': 900, '1h': 3600, '4h': 14400, '1d': 86400 }[url.searchParams.get('interval')] ?? 60;
    const out = [];
    for (const [t, p] of ticks.get(url.searchParams.get('asset')) ?? []) {
      const b = Math.floor(t / 1000 / sec) * sec * 1000; const v = Number(p) / 1e8; const l = out[out.length - 1];
      if (l && l.time === b) { l.high = Math.max(l.high, v); l.low = Math.min(l.low, v); l.close = v; } else out.push({ time: b, open: l ? l.close : v, high: v, low: v, close: v });
    }
    return send(res, 200, out.slice(-Number(url.searchParams.get('limit') ?? 500)));
  }

  const user = userOf(req);
  if (!user) return problem(res, 401, 'UNAUTHENTICATED', 'Sign in first.');
  if (m === 'GET' && path === '/auth/me') { const u = [...users.values()].find((x) => x.id === user); return send(res, 200, { id: u.id, email: u.email, createdAt: new Num(String(u.createdAt)) }); }
  if (m === 'POST' && path === '/engine') {
    const b = await readBody(req);
    if (b?.command !== 'CREATE_ACCOUNT') return problem(res, 400, 'UNKNOWN_COMMAND', 'The mock only knows CREATE_ACCOUNT.');
    if (accounts.has(user)) return problem(res, 409, 'ACCOUNT_EXISTS', 'The trading account already exists.');
    accounts.set(user, { free: 500000n, locked: 0n });
    return send(res, 200, { success: true, orderId: randomUUID(), engineResponse: { status: 'success', data: { initialUsdBalance: usd(500000n) }, message: 'Operation completed' }, latency: new Num('0.1') });
  }
  if (!accounts.has(user)) return problem(res, 404, 'ACCOUNT_NOT_FOUND', 'No trading account yet: send CREATE_ACCOUNT first.');
  const acct = accounts.get(user);
  if (m === 'GET' && path === '/balance') return send(res, 200, balanceView(user));
  if (m === 'GET' && path === '/trades') {
    const status = url.searchParams.get('status') ?? 'open';
    if (status === 'open') return send(res, 200, { trades: [...open.values()].filter((t) => t.owner === user).map((t) => { const mark = closingPrice(t, quotes.get(t.asset)); return { ...tradeView(t), markPrice: px(mark), unrealizedPnl: usd(pnlFor(t, mark)), status: 'open' }; }), nextCursor: null });
    if (status !== 'closed') return problem(res, 400, 'INVALID_STATUS', "status must be 'open' or 'closed'.");
    // As the server: newest first by (close time, trade id); the cursor is "closedAtMs.tradeId", or a bare close time.
    const limit = Number(url.searchParams.get('limit') ?? 50);
    const [beforeMs, beforeId] = (url.searchParams.get('before') ?? '').split('.');
    const older = (t) => !beforeMs || t.closedAt < Number(beforeMs) || (beforeId !== undefined && t.closedAt === Number(beforeMs) && t.id < beforeId);
    const mine = closed.filter((t) => t.owner === user && older(t)).sort((a, b) => b.closedAt - a.closedAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    const page = mine.slice(0, limit);
    const last = page[page.length - 1];
    return send(res, 200, { trades: page.map((t) => ({ ...tradeView(t), closePrice: px(t.closePrice), closeReason: t.closeReason, pnl: usd(t.pnl), payout: usd(t.payout), closedAt: new Num(String(t.closedAt)), status: 'closed' })), nextCursor: mine.length > limit ? `${last.closedAt}.${last.id}` : null });
  }
  if (m === 'POST' && path === '/trades') {
    const b = await readBody(req);
    if (!b) return problem(res, 400, 'INVALID_JSON', 'The body is not valid JSON.');
    for (const f of ['asset', 'direction', 'margin', 'leverage']) if (b[f] === undefined) return problem(res, 400, 'MISSING_FIELD', `The field '${f}' is required.`);
    const a = ASSETS.find((x) => x.symbol === b.asset); if (!a) return problem(res, 400, 'UNKNOWN_ASSET', 'Unknown asset.');
    if (b.direction !== 'LONG' && b.direction !== 'SHORT') return problem(res, 400, 'INVALID_DIRECTION', 'Direction must be LONG or SHORT.');
    const lev = Number(b.leverage); if (!Number.isInteger(lev)) return problem(res, 400, 'LEVERAGE_NOT_INTEGER', 'Leverage must be a whole number.');
    if (lev < 1 || lev > 100) return problem(res, 400, 'LEVERAGE_OUT_OF_RANGE', "Leverage must be between 1 and the asset's maximum.");
    const margin = parse(b.margin, 2); if (margin === null) return problem(res, 400, 'MARGIN_TOO_PRECISE', 'Margin may have at most 2 decimals.');
    if (margin <= 0n) return problem(res, 400, 'MARGIN_NOT_POSITIVE', 'Margin must be greater than zero.');
    if (margin < 100n) return problem(res, 422, 'MARGIN_BELOW_MINIMUM', "Margin is below the asset's minimum.");
    if (margin > acct.free) return problem(res, 422, 'INSUFFICIENT_BALANCE', 'Not enough free balance for this margin.');
    const sl = b.stopLossPrice == null ? null : parse(b.stopLossPrice, 8); const tp = b.takeProfitPrice == null ? null : parse(b.takeProfitPrice, 8);
    if ((b.stopLossPrice != null && (sl === null || sl <= 0n)) || (b.takeProfitPrice != null && (tp === null || tp <= 0n))) return problem(res, 400, 'TRIGGER_PRICE_INVALID', 'Stop-loss and take-profit must be positive prices with at most 8 decimals.');
    const q = quotes.get(a.symbol); const long = b.direction === 'LONG'; const openPrice = long ? q.ask : q.bid; const closing = long ? q.bid : q.ask;
    // As the engine: the stop-loss lies strictly between the closing price (checked first) and the liquidation price (checked after WOULD_BE_LIQUIDATED_AT_ONCE).
    const SL_BAND = 'Stop-loss must lie between the price the trade closes at and its liquidation price: below the bid and above the liquidation price for a LONG, above the ask and below the liquidation price for a SHORT.';
    if (sl !== null && (long ? sl >= closing : sl <= closing)) return problem(res, 422, 'STOP_LOSS_WRONG_SIDE', SL_BAND);
    if (tp !== null && (long ? tp <= openPrice : tp >= openPrice)) return problem(res, 422, 'TAKE_PROFIT_WRONG_SIDE', 'The take-profit is on the wrong side of the opening price.');
    const t = { id: randomBytes(16).toString('hex'), owner: user, asset: a.symbol, direction: b.direction, openPrice, quantity: quantityFor(margin, lev, openPrice), margin, leverage: lev, liquidationPrice: liqFor(b.direction, openPrice, lev), stopLoss: sl, takeProfit: tp, openedAt: Date.now() };
    if (long ? closing <= t.liquidationPrice : closing >= t.liquidationPrice) return problem(res, 422, 'WOULD_BE_LIQUIDATED_AT_ONCE', 'The spread alone would liquidate this trade; lower the leverage.');
    if (sl !== null && (long ? sl <= t.liquidationPrice : sl >= t.liquidationPrice)) return problem(res, 422, 'STOP_LOSS_WRONG_SIDE', SL_BAND);
    acct.free -= margin; acct.locked += margin; open.set(t.id, t);
    sendTo(user, { type: 'trade_opened', tradeId: t.id, trade: tradeView(t) });
    return send(res, 201, tradeView(t), 'application/json', { Location: '/api/v1/trades?status=open' });
  }
  const close = /^\/trades\/([^/]+)\/close$/.exec(path);
  if (m === 'POST' && close) {
    const t = open.get(close[1]);
    if (!t || t.owner !== user) return problem(res, 404, 'TRADE_NOT_FOUND', 'No such open trade.');
    const done = settle(t, 'MANUAL', closingPrice(t, quotes.get(t.asset)));
    return send(res, 200, { tradeId: done.id, closePrice: px(done.closePrice), pnl: usd(done.pnl), marginReturned: usd(done.margin), totalReturn: usd(done.payout) });
  }
  return problem(res, 404, 'NOT_FOUND', 'Not found.');
}

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.json': 'application/json' };
function staticFile(res, pathname) {
  if (!existsSync(DIST)) return problem(res, 404, 'NOT_FOUND', 'No web/dist: run npm run build, or use the Vite dev server.');
  let file = normalize(join(DIST, decodeURIComponent(pathname)));
  if (!file.startsWith(DIST) || !existsSync(file) || statSync(file).isDirectory()) file = join(DIST, 'index.html');
  res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' });
  createReadStream(file).pipe(res);
}

const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname.startsWith('/api/')) api(req, res, url).catch((e) => { console.error(e); problem(res, 500, 'INTERNAL', 'Mock failure.'); });
  else staticFile(res, url.pathname);
});

// ---------- minimal WebSocket (server → client text frames) ----------
const sockets = new Set(); // { socket, user }
function frame(text) {
  const payload = Buffer.from(text);
  const len = payload.length;
  const head = len < 126 ? Buffer.from([0x81, len]) : len < 65536 ? Buffer.from([0x81, 126, len >> 8, len & 255]) : (() => { const b = Buffer.alloc(10); b[0] = 0x81; b[1] = 127; b.writeBigUInt64BE(BigInt(len), 2); return b; })();
  return Buffer.concat([head, payload]);
}
function broadcast(msg) { if (!sockets.size) return; const f = frame(json(msg)); for (const s of sockets) s.socket.write(f); }
function sendTo(user, msg) { const f = frame(json(msg)); for (const s of sockets) if (s.user === user) s.socket.write(f); }
server.on('upgrade', (req, socket) => {
  const url = new URL(req.url, 'http://x');
  if (!args.ws || url.pathname !== '/api/v1/stream') { socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n'); return; }
  const accept = createHash('sha1').update(req.headers['sec-websocket-key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  const entry = { socket, user: userOf(req) ?? null };
  sockets.add(entry);
  socket.on('data', (buf) => { if ((buf[0] & 0x0f) === 0x8) socket.end(); }); // close frame
  socket.on('close', () => sockets.delete(entry));
  socket.on('error', () => sockets.delete(entry));
});

tick();
setInterval(tick, 250);
server.listen(PORT, '127.0.0.1', () => console.log(`mock exchange on http://localhost:${PORT} (candles: ${args.candles ? 'on' : '404'}, push: ${args.ws ? 'on' : 'off'})`));
