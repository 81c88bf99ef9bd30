// Live valuations from the latest quotes: unrealized PnL at the closing-side price (bid for a
// LONG, ask for a SHORT) and equity, with the engine's rounding.
import { useMemo } from 'react';
import { closingPrice, equityFor, pnlFor } from '../lib/positionMath';
import { useStore, type Balance, type Position, type Quote } from './store';

export interface LivePosition extends Position {
  mark: bigint | null;
  pnl: bigint; // cents
}

export function valuePositions(positions: Position[], quotes: Record<string, Quote>): LivePosition[] {
  return positions.map((p) => {
    const q = quotes[p.asset];
    if (!q) return { ...p, mark: null, pnl: p.serverPnl };
    const mark = closingPrice(p.direction, q.bid, q.ask);
    return { ...p, mark, pnl: pnlFor(p.direction, p.openPrice, mark, p.quantity) };
  });
}

export function useLivePositions(): LivePosition[] {
  const positions = useStore((s) => s.positions);
  const quotes = useStore((s) => s.quotes);
  return useMemo(() => valuePositions(positions, quotes), [positions, quotes]);
}

export interface LiveAccount {
  free: bigint | null;
  locked: bigint | null;
  equity: bigint | null;
  unrealized: bigint | null;
}

export function useLiveAccount(): LiveAccount {
  const balance = useStore((s) => s.balance);
  const live = useLivePositions();
  return useMemo(() => liveAccount(balance, live), [balance, live]);
}

export function liveAccount(balance: Balance | null, live: LivePosition[]): LiveAccount {
  if (!balance) return { free: null, locked: null, equity: null, unrealized: null };
  const unrealized = live.reduce((sum, p) => sum + p.pnl, 0n);
  // before any quote arrives, the server's equity is the best number we have
  const anyQuote = live.every((p) => p.mark !== null);
  // A trade just opened is in the pushed balance (its margin locked) before the refreshed list
  // of positions shows it: that margin counts at no PnL meanwhile, not as if it had gone.
  const unlisted = balance.locked - live.reduce((sum, p) => sum + p.margin, 0n);
  const valued = live.map((p) => ({ marginCents: p.margin, pnlCents: p.pnl }));
  if (unlisted > 0n) valued.push({ marginCents: unlisted, pnlCents: 0n });
  const equity = anyQuote ? equityFor(balance.free, valued) : balance.equity;
  return { free: balance.free, locked: balance.locked, equity, unrealized };
}
