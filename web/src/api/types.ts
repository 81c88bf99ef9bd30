// Wire shapes (src/Exchange.Server/Api/Contracts.cs). Every JSON number arrives as its exact
// decimal text (see lib/json.ts), hence `Dec` = string.

export type Dec = string;
export type Direction = 'LONG' | 'SHORT';
export type CloseReason = 'MANUAL' | 'STOP_LOSS' | 'TAKE_PROFIT' | 'LIQUIDATION';

export interface UserView {
  id: string;
  email: string;
  createdAt: Dec;
}

export interface AuthResult {
  user: UserView;
  token: string;
  expiresAt: Dec;
}

export interface AssetView {
  symbol: string;
  maxLeverage: Dec;
  maintenanceMarginRate: Dec;
  minMargin: Dec;
  maxMargin: Dec;
}

export interface PriceView {
  asset: string;
  bid: Dec;
  ask: Dec;
  timestamp: Dec;
}

export interface BalanceData {
  balances: { USD: Dec };
  lockedMargin: Dec;
  equity: Dec;
  freeMargin?: Dec;
}

interface TradeBase {
  tradeId: string;
  asset: string;
  direction: Direction;
  openPrice: Dec;
  quantity: Dec;
  margin: Dec;
  leverage: Dec;
  liquidationPrice: Dec;
  stopLossPrice: Dec | null;
  takeProfitPrice: Dec | null;
  openedAt: Dec;
}

export interface OpenTradeView extends TradeBase {
  markPrice: Dec;
  unrealizedPnl: Dec;
  status: 'open';
}

export interface ClosedTradeView extends TradeBase {
  closePrice: Dec | null;
  closeReason: CloseReason | string | null;
  pnl: Dec | null;
  payout: Dec | null;
  closedAt: Dec | null;
  status: 'closed';
}

export interface TradePage<T> {
  trades: T[];
  nextCursor: string | null;
}

export type TradeData = TradeBase;

export interface CloseTradeData {
  tradeId: string;
  closePrice: Dec;
  pnl: Dec;
  marginReturned: Dec;
  totalReturn: Dec;
}
