// Exact decimal arithmetic for money, prices and quantities, mirroring the engine's fixed
// point (docs/engine.md): every value is a BigInt count of 10^-scale units. No float ever
// touches an amount the trader sees; floats are used only for chart coordinates.

export const USD_SCALE = 2; // cents
export const PRICE_SCALE = 8; // 1e-8 USD per unit
export const QTY_SCALE = 8; // 1e-8 units of the asset

const TEN = 10n;

export function pow10(n: number): bigint {
  return TEN ** BigInt(n);
}

/** Floor division (toward negative infinity), like the engine's FloorDiv. */
export function floorDiv(a: bigint, b: bigint): bigint {
  if (b === 0n) throw new RangeError('division by zero');
  const q = a / b; // BigInt division truncates toward zero
  return (a % b !== 0n) && ((a < 0n) !== (b < 0n)) ? q - 1n : q;
}

/** Ceiling division (toward positive infinity), like the engine's CeilDiv. */
export function ceilDiv(a: bigint, b: bigint): bigint {
  if (b === 0n) throw new RangeError('division by zero');
  const q = a / b;
  return (a % b !== 0n) && ((a < 0n) === (b < 0n)) ? q + 1n : q;
}

export function max(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

export function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

const DECIMAL = /^([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/**
 * Parses decimal text ("1000", "0.005", "-376.32", "1e-8") into units of 10^-scale, exactly.
 * Returns null for anything that is not a finite decimal, or that has more fractional digits
 * than the scale holds (unless `round` says which way to round them away).
 */
export function parseFixed(text: string | number | null | undefined, scale: number, round?: 'floor' | 'ceil'): bigint | null {
  if (text === null || text === undefined) return null;
  const s = (typeof text === 'number' ? numberText(text) : text).trim();
  if (s === '') return null;
  const m = DECIMAL.exec(s);
  if (!m) return null;
  const [, sign, whole = '', fracRaw = '', expText] = m;
  if (whole === '' && fracRaw === '') return null;
  let digits = whole + fracRaw; // the number is digits × 10^-(fracLen) × 10^exp
  let exp = (expText ? Number(expText) : 0) - fracRaw.length;
  if (!Number.isSafeInteger(exp) || Math.abs(exp) > 400) return null;
  digits = digits.replace(/^0+(?=\d)/, '');
  // value in units of 10^-scale = digits × 10^(exp + scale)
  const shift = exp + scale;
  let units: bigint;
  if (shift >= 0) {
    units = BigInt(digits) * pow10(shift);
  } else {
    const div = pow10(-shift);
    const n = BigInt(digits);
    if (n % div !== 0n) {
      if (!round) return null;
      const signed = sign === '-' ? -n : n;
      return round === 'floor' ? floorDiv(signed, div) : ceilDiv(signed, div);
    }
    units = n / div;
  }
  return sign === '-' ? -units : units;
}

/** The shortest text that round-trips a double; exact for every decimal of ≤ 15 significant digits. */
function numberText(n: number): string {
  if (!Number.isFinite(n)) return 'NaN';
  return String(n);
}

/**
 * Formats units of 10^-scale as decimal text. `minDecimals` pads with zeros; `maxDecimals`
 * (≤ scale) cuts further digits off by truncation — pass values already rounded the way the
 * engine rounds them. `group` adds thousands separators.
 */
export function formatFixed(
  units: bigint,
  scale: number,
  opts: { minDecimals?: number; maxDecimals?: number; group?: boolean; sign?: boolean } = {},
): string {
  const { minDecimals = 0, maxDecimals = scale, group = false, sign = false } = opts;
  const negative = units < 0n;
  const abs = negative ? -units : units;
  const base = pow10(scale);
  let whole = (abs / base).toString();
  let frac = scale > 0 ? (abs % base).toString().padStart(scale, '0') : '';
  frac = frac.slice(0, Math.max(0, maxDecimals));
  frac = frac.replace(/0+$/, '');
  if (frac.length < minDecimals) frac = frac.padEnd(minDecimals, '0');
  if (group) whole = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const isZero = abs === 0n || (/^0*$/.test(frac) && whole.replace(/,/g, '') === '0');
  const prefix = negative && !isZero ? '-' : sign && !isZero ? '+' : '';
  return prefix + whole + (frac ? '.' + frac : '');
}

/** Changes the scale of a value, rounding the way the caller names when digits are dropped. */
export function rescale(units: bigint, from: number, to: number, round: 'floor' | 'ceil' = 'floor'): bigint {
  if (to >= from) return units * pow10(to - from);
  const div = pow10(from - to);
  return round === 'floor' ? floorDiv(units, div) : ceilDiv(units, div);
}

/** Counts the decimals a price quote needs (2..8), so an asset's quotes line up in a column. */
export function decimalsOf(text: string | undefined): number {
  if (!text) return 2;
  const dot = text.indexOf('.');
  return dot < 0 ? 0 : text.length - dot - 1;
}

/** A chart coordinate from exact units (display only). */
export function toChartNumber(units: bigint, scale: number): number {
  return Number(units) / 10 ** scale;
}
