// The engine's position maths (src/Exchange.Engine/FixedPoint.cs, docs/engine.md), in BigInt
// so the numbers shown before submit are the numbers the engine will produce.
//
//   quantity = margin × leverage / openPrice          floored to 1e-8
//   PnL      = (exit − open) × quantity  (LONG)       floored to the cent (toward −∞)
//              (open − exit) × quantity  (SHORT)
//   liq LONG  = open × (1 − 1/L + mmr)               rounded up to 1e-8
//   liq SHORT = open × (1 + 1/L − mmr)               rounded down to 1e-8
//
// A LONG opens at the ask and is valued/closed at the bid; a SHORT opens at the bid and is
// valued/closed at the ask.

import { ceilDiv, floorDiv, max, parseFixed, pow10, PRICE_SCALE, QTY_SCALE, USD_SCALE } from './fixed';
import { fmtPriceExact } from './format';
import { DECIMAL_FORMAT_HINT, isDecimalText } from './ticketInput';

export type Direction = 'LONG' | 'SHORT';

/** Cents × 1e8 (price) × 1e8 (qty) / 1e2: multiply cents into price×qty units. */
const CENTS_TO_PRICE_QTY = pow10(PRICE_SCALE + QTY_SCALE - USD_SCALE); // 1e14
const MILLION = 1_000_000n;

/** Position size for a margin (cents) at a leverage and open price (1e-8 units): floored to 1e-8. */
export function quantityFor(marginCents: bigint, leverage: number, openPrice: bigint): bigint {
  if (openPrice <= 0n) throw new RangeError('open price must be positive');
  const notionalCents = marginCents * BigInt(leverage);
  return floorDiv(notionalCents * CENTS_TO_PRICE_QTY, openPrice);
}

/** Notional in cents (margin × leverage). */
export function notionalFor(marginCents: bigint, leverage: number): bigint {
  return marginCents * BigInt(leverage);
}

/** PnL in cents, floored toward negative infinity. Prices in 1e-8, quantity in 1e-8. */
export function pnlFor(direction: Direction, openPrice: bigint, exitPrice: bigint, quantity: bigint): bigint {
  const diff = direction === 'LONG' ? exitPrice - openPrice : openPrice - exitPrice;
  return floorDiv(diff * quantity, CENTS_TO_PRICE_QTY);
}

/** Liquidation price (1e-8): LONG rounded up, SHORT rounded down. mmr in parts per million. */
export function liquidationPriceFor(direction: Direction, openPrice: bigint, leverage: number, mmrPpm: bigint): bigint {
  const L = BigInt(leverage);
  const denominator = L * MILLION;
  if (direction === 'LONG') {
    return ceilDiv(openPrice * (L * MILLION - MILLION + L * mmrPpm), denominator);
  }
  return floorDiv(openPrice * (L * MILLION + MILLION - L * mmrPpm), denominator);
}

/** What the trader gets back on a manual/SL/TP close: max(0, margin + PnL). */
export function payoutFor(marginCents: bigint, pnlCents: bigint): bigint {
  return max(0n, marginCents + pnlCents);
}

/**
 * What a closed trade made or lost, in cents: the payout less the margin. Not the price move:
 * on a liquidation, or a stop-loss filled after a gap, the trader loses the whole margin and no
 * more, whatever the move (the insurance fund takes the rest). The price move (pnl) only when
 * the payout or margin is unknown; null when that is unknown too.
 */
export function realizedPnl(t: { margin?: string | null; payout?: string | null; pnl?: string | null }): bigint | null {
  const margin = parseFixed(t.margin, USD_SCALE, 'floor');
  const payout = parseFixed(t.payout, USD_SCALE, 'floor');
  return margin !== null && payout !== null ? payout - margin : parseFixed(t.pnl, USD_SCALE, 'floor');
}

/** The price a position opens at: the ask for LONG, the bid for SHORT. */
export function openingPrice(direction: Direction, bid: bigint, ask: bigint): bigint {
  return direction === 'LONG' ? ask : bid;
}

/** The price a position is valued and closed at: the bid for LONG, the ask for SHORT. */
export function closingPrice(direction: Direction, bid: bigint, ask: bigint): bigint {
  return direction === 'LONG' ? bid : ask;
}

/** Maintenance margin rate as decimal text ("0.005") → parts per million (5000). */
export function mmrToPpm(rate: string | number): bigint {
  const ppm = parseFixed(rate, 6, 'floor');
  if (ppm === null) throw new RangeError(`bad maintenance margin rate ${rate}`);
  return ppm;
}

/** Equity as the engine defines it: free + Σ max(0, margin + unrealized PnL) per open trade. */
export function equityFor(freeCents: bigint, positions: { marginCents: bigint; pnlCents: bigint }[]): bigint {
  return positions.reduce((sum, p) => sum + max(0n, p.marginCents + p.pnlCents), freeCents);
}

export interface OrderPreviewInput {
  direction: Direction;
  margin: string; // as typed
  leverage: number; // NaN when the leverage box holds no valid number: nothing is previewed
  bid: bigint | null; // 1e-8
  ask: bigint | null;
  mmrPpm: bigint;
  stopLoss?: string;
  takeProfit?: string;
  freeCents?: bigint | null;
  minMarginCents?: bigint | null;
  maxMarginCents?: bigint | null;
  maxLeverage?: number;
}

export interface OrderPreview {
  entryPrice: bigint | null; // 1e-8
  quantity: bigint | null; // 1e-8
  notional: bigint | null; // cents
  liquidationPrice: bigint | null; // 1e-8
  requiredMargin: bigint | null; // cents
  stopLoss: bigint | null;
  takeProfit: bigint | null;
  /** PnL (cents) if the SL / TP fills exactly at its level (a gap fills worse). */
  pnlAtStopLoss: bigint | null;
  pnlAtTakeProfit: bigint | null;
  errors: Partial<Record<'margin' | 'leverage' | 'stopLoss' | 'takeProfit' | 'price', string>>;
}

/**
 * Everything the ticket shows before submit, with the checks the engine will make (so most
 * mistakes are caught as you type; the engine still has the last word).
 */
export function previewOrder(i: OrderPreviewInput): OrderPreview {
  const errors: OrderPreview['errors'] = {};
  const out: OrderPreview = {
    entryPrice: null, quantity: null, notional: null, liquidationPrice: null, requiredMargin: null,
    stopLoss: null, takeProfit: null, pnlAtStopLoss: null, pnlAtTakeProfit: null, errors,
  };

  const marginText = i.margin.trim();
  const margin = marginText === '' || !isDecimalText(marginText) ? null : parseFixed(marginText, USD_SCALE);
  if (marginText !== '' && margin === null) {
    errors.margin = isDecimalText(marginText) ? 'At most 2 decimals (cents).' : DECIMAL_FORMAT_HINT;
  } else if (margin !== null) {
    if (margin <= 0n) errors.margin = 'Margin must be greater than zero.';
    else if (i.minMarginCents != null && margin < i.minMarginCents) errors.margin = 'Below the minimum margin.';
    else if (i.maxMarginCents != null && margin > i.maxMarginCents) errors.margin = 'Above the maximum margin.';
    else if (i.freeCents != null && margin > i.freeCents) errors.margin = 'More than your free balance.';
  }
  if (!Number.isInteger(i.leverage) || i.leverage < 1 || i.leverage > (i.maxLeverage ?? 100)) {
    errors.leverage = `Leverage must be a whole number from 1 to ${i.maxLeverage ?? 100}.`;
  }

  const trigger = (text: string | undefined, key: 'stopLoss' | 'takeProfit'): bigint | null => {
    const t = (text ?? '').trim();
    if (t === '') return null;
    if (!isDecimalText(t)) {
      errors[key] = DECIMAL_FORMAT_HINT;
      return null;
    }
    const v = parseFixed(t, PRICE_SCALE);
    if (v === null || v <= 0n) {
      errors[key] = 'Enter a positive price with at most 8 decimals.';
      return null;
    }
    return v;
  };
  out.stopLoss = trigger(i.stopLoss, 'stopLoss');
  out.takeProfit = trigger(i.takeProfit, 'takeProfit');

  if (i.bid === null || i.ask === null) {
    errors.price = 'Waiting for a price…';
    return out;
  }
  const entry = openingPrice(i.direction, i.bid, i.ask);
  out.entryPrice = entry;
  const isLong = i.direction === 'LONG';
  // The stop-loss must lie strictly between the price the trade closes at (the bid for a LONG,
  // the ask for a SHORT: inside the spread it would fire on the next tick) and the liquidation
  // price (past it, it could only fire on a gap). The engine checks the closing side first, then
  // (after WOULD_BE_LIQUIDATED_AT_ONCE) the liquidation side.
  const closing = closingPrice(i.direction, i.bid, i.ask);
  if (out.stopLoss !== null && (isLong ? out.stopLoss >= closing : out.stopLoss <= closing)) {
    errors.stopLoss = isLong
      ? `A LONG stop-loss must be below the bid (${fmtPriceExact(closing)}).`
      : `A SHORT stop-loss must be above the ask (${fmtPriceExact(closing)}).`;
  }
  if (out.takeProfit !== null && (isLong ? out.takeProfit <= entry : out.takeProfit >= entry)) {
    errors.takeProfit = isLong ? 'A LONG take-profit must be above the entry price.' : 'A SHORT take-profit must be below the entry price.';
  }
  if (errors.leverage) return out;

  // The liquidation price depends on the entry and leverage only, so the spread and stop-loss
  // checks against it do not wait for a margin.
  const liquidation = liquidationPriceFor(i.direction, entry, i.leverage, i.mmrPpm);
  if (isLong ? closing <= liquidation : closing >= liquidation) {
    errors.leverage = 'The spread alone would liquidate this position: lower the leverage.';
  } else if (out.stopLoss !== null && !errors.stopLoss && (isLong ? out.stopLoss <= liquidation : out.stopLoss >= liquidation)) {
    errors.stopLoss = isLong
      ? `A LONG stop-loss must be above the liquidation price (${fmtPriceExact(liquidation)}).`
      : `A SHORT stop-loss must be below the liquidation price (${fmtPriceExact(liquidation)}).`;
  }
  if (margin === null || margin <= 0n) return out;

  out.requiredMargin = margin;
  out.notional = notionalFor(margin, i.leverage);
  out.quantity = quantityFor(margin, i.leverage, entry);
  out.liquidationPrice = liquidation;
  if (out.quantity <= 0n) errors.margin = 'Position too small for 1e-8 units.';
  if (out.stopLoss !== null && !errors.stopLoss) out.pnlAtStopLoss = pnlFor(i.direction, entry, out.stopLoss, out.quantity);
  if (out.takeProfit !== null && !errors.takeProfit) out.pnlAtTakeProfit = pnlFor(i.direction, entry, out.takeProfit, out.quantity);
  return out;
}
