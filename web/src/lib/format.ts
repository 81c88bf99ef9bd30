import { floorDiv, formatFixed, PRICE_SCALE, QTY_SCALE, USD_SCALE } from './fixed';

/** A price at the asset's display decimals (truncated), with thousands separators. */
export function fmtPrice(units: bigint | null | undefined, decimals = 2): string {
  if (units === null || units === undefined) return '—';
  return formatFixed(units, PRICE_SCALE, { minDecimals: decimals, maxDecimals: decimals, group: true });
}

/** A price computed by the engine's rules (e.g. liquidation): every significant digit, at least `decimals`. */
export function fmtPriceExact(units: bigint | null | undefined, decimals = 2): string {
  if (units === null || units === undefined) return '—';
  return formatFixed(units, PRICE_SCALE, { minDecimals: decimals, group: true });
}

export function fmtUsd(cents: bigint | null | undefined, opts: { sign?: boolean } = {}): string {
  if (cents === null || cents === undefined) return '—';
  return formatFixed(cents, USD_SCALE, { minDecimals: 2, group: true, sign: opts.sign });
}

export function fmtQty(units: bigint | null | undefined): string {
  if (units === null || units === undefined) return '—';
  return formatFixed(units, QTY_SCALE, { group: true });
}

/** Return on margin in percent, exact to the basis point (floored), e.g. "+42.08". */
export function fmtRoe(pnlCents: bigint, marginCents: bigint): string {
  if (marginCents <= 0n) return '—';
  return formatFixed(floorDiv(pnlCents * 10000n, marginCents), 2, { minDecimals: 2, sign: true });
}

export function fmtTime(ms: number | string | null | undefined): string {
  const n = Number(ms);
  if (!ms || !Number.isFinite(n)) return '—';
  const d = new Date(n);
  const pad = (x: number) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function pnlClass(v: bigint | null | undefined): string {
  if (v === null || v === undefined || v === 0n) return 'flat';
  return v > 0n ? 'up' : 'down';
}

export function assetLabel(symbol: string): string {
  return symbol.replace('_', '/');
}

/** Names a position for the trader (toasts, the Close button's accessible name): "SOL/USDC LONG 10x". */
export function positionLabel(p: { asset: string; direction: string; leverage: number | string }): string {
  return `${assetLabel(p.asset)} ${p.direction} ${p.leverage}x`;
}

/** A message without the prices it quotes: "… below the bid (95,000.00)." → "… below the bid." */
export function withoutPrices(text: string): string {
  return text.replace(/ \([\d,.]+\)/g, '');
}
