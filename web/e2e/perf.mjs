// First-load budget of the web terminal (issue 6): gzipped JavaScript and time to interactive.
// Not part of the e2e run (scripts/e2e.sh runs `node --test e2e/terminal.e2e.mjs` only); run it by hand against
// a running exchange that serves the built terminal:
//   EXCHANGE_URL=http://127.0.0.1:3310 RUNS=10 node e2e/perf.mjs
// 1. Size: the JS index.html references (script src + modulepreload), gzipped here with zlib
//    (level 9 and the default 6), and every JS response the browser fetched while loading /signin.
// 2. Time to interactive: RUNS cold loads (a new browser context each: no cache) in Debian's
//    headless Chromium, of /signin signed out and of the terminal signed in. "Interactive" is
//    stamped in the page by a MutationObserver installed before any script runs
//    (performance.now(), i.e. ms since navigation start); "responsive" = the first macrotask
//    after that ran (the main thread was free to handle input). Navigation Timing
//    domContentLoadedEventEnd and loadEventEnd are reported too. Medians over the runs.
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';

const base = (process.env.EXCHANGE_URL ?? 'http://127.0.0.1:3105').replace(/\/$/, '');
const runs = Number(process.env.RUNS ?? 10);
const budgetKb = 300;
const ttiBudgetMs = 1000;

const kb = (bytes) => (bytes / 1000).toFixed(1); // kB = 1000 bytes, as Vite reports
const ms = (v) => v.toFixed(0);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// --- 1. What index.html loads -------------------------------------------------------------
const html = await (await fetch(`${base}/`)).text();
const refs = new Set();
for (const m of html.matchAll(/<script[^>]*\bsrc="([^"]+)"/g)) refs.add(m[1]);
for (const m of html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+)"/g)) refs.add(m[1]);
for (const m of html.matchAll(/<link[^>]*href="([^"]+)"[^>]*rel="modulepreload"/g)) refs.add(m[1]);
let raw = 0, gz9 = 0, gz6 = 0;
console.log(`index.html at ${base}/ references ${refs.size} JS file(s):`);
for (const ref of refs) {
  const body = Buffer.from(await (await fetch(new URL(ref, `${base}/`))).arrayBuffer());
  const g9 = gzipSync(body, { level: 9 }).length;
  const g6 = gzipSync(body).length;
  raw += body.length; gz9 += g9; gz6 += g6;
  console.log(`  ${ref}: ${kb(body.length)} kB raw, ${kb(g9)} kB gzip -9, ${kb(g6)} kB gzip -6`);
}
console.log(`  total: ${kb(raw)} kB raw, ${kb(gz9)} kB gzip -9, ${kb(gz6)} kB gzip -6 (budget ${budgetKb} kB gzipped)`);

// --- 2. Cold loads --------------------------------------------------------------------------
// Two pages: /signin signed out (interactive = the e-mail field is usable) and the terminal at /
// signed in (interactive = the order ticket quotes a live ask and its submit button is enabled,
// i.e. assets, prices, balance and the push socket have all arrived). The probe is installed
// before the page's own scripts and stamps the first moment the condition holds.
const probe = (page) => {
  const visible = (el) => {
    if (!el || el.disabled) return false;
    const r = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && style.visibility !== 'hidden' && style.display !== 'none';
  };
  const ready = page === 'signin'
    ? () => visible(document.querySelector('[data-testid="signin-email"]'))
    : () => visible(document.querySelector('[data-testid="ticket-submit"]'))
      && /[0-9]/.test(document.querySelector('[data-testid="ticket-ask"]')?.textContent ?? '');
  const stamp = () => {
    if (window.__perf || !ready()) return;
    window.__perf = { interactive: performance.now() };
    setTimeout(() => { window.__perf.responsive = performance.now(); }, 0);
    observer.disconnect();
  };
  const observer = new MutationObserver(stamp);
  observer.observe(document, { childList: true, subtree: true, attributes: true, characterData: true });
};

/** A trader's authToken cookie, from a sign-up through the API. */
async function signedInCookie() {
  const email = `perf-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.com`;
  const res = await fetch(`${base}/api/v1/auth/signup`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: 'correct horse battery' }),
  });
  if (!res.ok) throw new Error(`sign-up failed: ${res.status} ${await res.text()}`);
  const token = res.headers.getSetCookie().map((c) => c.match(/^authToken=([^;]+)/)?.[1]).find(Boolean);
  const account = await fetch(`${base}/api/v1/engine`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ command: 'CREATE_ACCOUNT' }),
  });
  if (!account.ok && account.status !== 409) throw new Error(`CREATE_ACCOUNT failed: ${account.status}`);
  const url = new URL(base);
  return { name: 'authToken', value: token, domain: url.hostname, path: '/', httpOnly: true, sameSite: 'Strict' };
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const errors = [];
const scenarios = [
  { name: '/signin (signed out)', page: 'signin', path: '/signin', cookie: null },
  { name: '/ terminal (signed in)', page: 'terminal', path: '/', cookie: await signedInCookie() },
];
const results = [];
try {
  for (const scenario of scenarios) {
    console.log(`${scenario.name}:`);
    const rows = [];
    for (let i = 0; i < runs; i++) {
      // A new context per run: no cache, no service worker, only the sign-in cookie.
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      if (scenario.cookie) await context.addCookies([scenario.cookie]);
      const page = await context.newPage();
      await page.addInitScript(probe, scenario.page);
      page.on('console', (m) => { if (m.type() === 'error') errors.push(`${scenario.path} run ${i + 1}: ${m.text()}`); });
      page.on('pageerror', (e) => errors.push(`${scenario.path} run ${i + 1}: ${e.message}`));
      const js = [];
      page.on('response', async (r) => {
        if (r.request().resourceType() !== 'script') return;
        try { js.push({ url: r.url(), bytes: (await r.body()).length }); } catch { /* navigated away */ }
      });
      const started = performance.now();
      await page.goto(`${base}${scenario.path}`, { waitUntil: 'commit' });
      await page.waitForFunction(() => window.__perf?.interactive, undefined, { timeout: 10_000 });
      const seen = performance.now() - started; // node side, incl. CDP round trips: an upper bound
      await page.waitForFunction(() => window.__perf?.responsive && performance.getEntriesByType('navigation')[0]?.loadEventEnd > 0);
      const m = await page.evaluate(() => {
        const nav = performance.getEntriesByType('navigation')[0];
        return { ...window.__perf, dcl: nav.domContentLoadedEventEnd, load: nav.loadEventEnd, ttfb: nav.responseStart };
      });
      rows.push({ ...m, seen, js });
      console.log(`  run ${String(i + 1).padStart(2)}: interactive ${ms(m.interactive)} ms, responsive ${ms(m.responsive)} ms, `
        + `DCL ${ms(m.dcl)} ms, load ${ms(m.load)} ms, TTFB ${ms(m.ttfb)} ms, seen by Playwright ${ms(seen)} ms`);
      await context.close();
    }
    const fetched = rows.at(-1)?.js ?? [];
    console.log(`  JS fetched: ${fetched.length} file(s), ${kb(fetched.reduce((s, f) => s + f.bytes, 0))} kB raw`
      + ` (${fetched.map((f) => new URL(f.url).pathname).join(', ')})`);
    results.push({ scenario, rows });
  }
} finally {
  await browser.close();
}

console.log();
console.log(`| page | runs | interactive ms (median / max) | responsive ms (median / max) | DCL ms | load ms | seen by Playwright ms |`);
console.log(`|---|---:|---:|---:|---:|---:|---:|`);
let ok = gz9 <= budgetKb * 1000 && errors.length === 0;
for (const { scenario, rows } of results) {
  const med = (key) => median(rows.map((r) => r[key]));
  const max = (key) => Math.max(...rows.map((r) => r[key]));
  console.log(`| ${scenario.name} | ${rows.length} | ${ms(med('interactive'))} / ${ms(max('interactive'))} | ${ms(med('responsive'))} / ${ms(max('responsive'))} `
    + `| ${ms(med('dcl'))} | ${ms(med('load'))} | ${ms(med('seen'))} |`);
  ok &&= med('responsive') < ttiBudgetMs;
}
if (errors.length) console.log(`console errors:\n  ${errors.join('\n  ')}`);
console.log(`verdict: JS ${kb(gz9)} kB gzipped (budget ${budgetKb} kB); median time to interactive under ${ttiBudgetMs} ms on every page `
  + `and no console errors -> ${ok ? 'ok' : 'FAIL'}`);
process.exitCode = ok ? 0 : 1;
