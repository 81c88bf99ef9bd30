// What the order ticket accepts as typed. An amount goes into the request exactly as written
// (lib/json.ts `decimal`), so text that is not plain digits and a dot cannot be sent at all:
// the ticket blocks submit on it instead of failing after the click.

/** Shown next to an amount or price that is not plain digits and a dot. */
export const DECIMAL_FORMAT_HINT = 'Use digits and one dot, e.g. 1250.5 (no commas, spaces or signs).';

/**
 * Digits with at most one dot ("100", "0.5", ".5", "5."). "1,000" is refused rather than read
 * as 1000: in many locales the comma is the decimal separator, so it would be a guess.
 */
export function isDecimalText(text: string): boolean {
  const t = text.trim();
  return /^\d*\.?\d*$/.test(t) && /\d/.test(t);
}

/** The leverage box: a whole number from 1 to max, or null ("", "0", "150", "2.5", "1e2"). */
export function parseLeverage(text: string, max: number): number | null {
  const t = text.trim();
  if (!/^\d+$/.test(t)) return null;
  const n = Number(t);
  return n >= 1 && n <= max ? n : null;
}
