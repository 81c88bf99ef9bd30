import { useEffect, useRef, useState } from 'react';
import { ApiError } from '../api/http';
import { pushToast, REASON_LABEL } from '../live/controller';
import { useLivePositions, type LivePosition } from '../live/derived';
import { useStore } from '../live/store';
import { parseFixed, PRICE_SCALE, QTY_SCALE, USD_SCALE } from '../lib/fixed';
import { assetLabel, fmtPrice, fmtPriceExact, fmtQty, fmtRoe, fmtTime, fmtUsd, pnlClass, positionLabel } from '../lib/format';
import { realizedPnl } from '../lib/positionMath';
import { useController } from './context';

export function Blotter() {
  const [tab, setTab] = useState<'positions' | 'history'>('positions');
  const count = useStore((s) => s.positions.length);
  return (
    <div className="blotter">
      <div className="blotter-tabs" role="tablist">
        <button type="button" role="tab" aria-selected={tab === 'positions'} className={tab === 'positions' ? 'active' : ''}
          data-testid="tab-positions" onClick={() => setTab('positions')}>
          Positions <span className="count" data-testid="positions-count">{count}</span>
        </button>
        <button type="button" role="tab" aria-selected={tab === 'history'} className={tab === 'history' ? 'active' : ''}
          data-testid="tab-history" onClick={() => setTab('history')}>History</button>
      </div>
      <div className="blotter-body">{tab === 'positions' ? <Positions /> : <History />}</div>
    </div>
  );
}

function Positions() {
  const c = useController();
  const rows = useLivePositions();
  const quotes = useStore((s) => s.quotes);
  const [closing, setClosing] = useState<Record<string, boolean>>({});
  const table = useRef<HTMLTableElement>(null);
  const empty = useRef<HTMLParagraphElement>(null);
  // The row whose close button the keyboard is on. Its row can go from under it (this close, a
  // stop-loss, a liquidation): the focus then goes to the close button now in its place (or the
  // last one), or to the empty list, instead of falling back to the page. A pointer elsewhere or
  // the keyboard moving on forgets it.
  const keyboardOn = useRef<string | null>(null);
  const shown = useRef<string[]>([]);

  useEffect(() => {
    const forget = () => { keyboardOn.current = null; };
    document.addEventListener('pointerdown', forget, true);
    return () => document.removeEventListener('pointerdown', forget, true);
  }, []);

  useEffect(() => {
    const before = shown.current;
    shown.current = rows.map((p) => p.id);
    const id = keyboardOn.current;
    if (!id || rows.some((p) => p.id === id)) return;
    keyboardOn.current = null;
    if (document.activeElement && document.activeElement !== document.body) return; // the focus is somewhere already
    const buttons = table.current?.querySelectorAll<HTMLButtonElement>('[data-testid="position-close"]');
    (buttons?.length ? buttons[Math.min(Math.max(0, before.indexOf(id)), buttons.length - 1)] : empty.current)?.focus();
  }, [rows]);

  const close = async (p: LivePosition) => {
    const id = p.id;
    if (closing[id]) return;
    setClosing((x) => ({ ...x, [id]: true }));
    try {
      await c.close(id);
    } catch (e) {
      pushToast('error', `Closing ${positionLabel(p)} failed`, e instanceof ApiError ? e.detail : 'The exchange did not answer.');
    } finally {
      setClosing((x) => {
        const { [id]: _, ...rest } = x;
        return rest;
      });
    }
  };

  if (!rows.length) return <p className="empty" data-testid="positions-empty" tabIndex={-1} ref={empty}>No open positions.</p>;
  return (
    <div className="table-wrap">
      <table className="grid" data-testid="positions-table" ref={table}>
        <thead>
          <tr>
            <th>Asset</th><th>Side</th><th className="num">Size</th><th className="num">Entry</th><th className="num">Mark</th>
            <th className="num">Liq.</th><th className="num">SL / TP</th><th className="num">Margin</th><th className="num">PnL (ROE)</th><th />
          </tr>
        </thead>
        <tbody>
          {rows.map((p) => {
            const d = quotes[p.asset]?.decimals ?? 2;
            return (
              <tr key={p.id} data-testid="position-row" data-trade-id={p.id} data-asset={p.asset} data-direction={p.direction}>
                <td data-label="Asset" className="cell-asset">{assetLabel(p.asset)} <span className="lev">{p.leverage}x</span></td>
                <td data-label="Side" className={p.direction === 'LONG' ? 'up' : 'down'}>{p.direction}</td>
                <td className="num" data-label="Size" data-testid="position-size">{fmtQty(p.quantity)}</td>
                <td className="num" data-label="Entry" data-testid="position-entry">{fmtPriceExact(p.openPrice, d)}</td>
                <td className="num" data-label="Mark" data-testid="position-mark">{fmtPrice(p.mark, d)}</td>
                <td className="num liq" data-label="Liq." data-testid="position-liq">{fmtPriceExact(p.liquidationPrice, d)}</td>
                <td className="num muted wrap" data-label="SL / TP">{p.stopLoss !== null ? fmtPriceExact(p.stopLoss, d) : '—'}&nbsp;/ {p.takeProfit !== null ? fmtPriceExact(p.takeProfit, d) : '—'}</td>
                <td className="num" data-label="Margin">{fmtUsd(p.margin)}</td>
                <td className={`num cell-pnl wrap ${pnlClass(p.pnl)}`} data-label="PnL (ROE)">
                  <span data-testid="position-pnl">{fmtUsd(p.pnl, { sign: true })}</span>{' '}
                  <span className="roe">({fmtRoe(p.pnl, p.margin)}%)</span>
                </td>
                <td className="num cell-action">
                  {/* aria-disabled, not disabled: a disabled button drops the keyboard's focus */}
                  <button type="button" className="close-btn" aria-disabled={!!closing[p.id]} aria-busy={!!closing[p.id]} data-testid="position-close"
                    aria-label={`${closing[p.id] ? 'Closing' : 'Close'} ${positionLabel(p)}, entry ${fmtPriceExact(p.openPrice, d)}`}
                    onFocus={(e) => { keyboardOn.current = e.currentTarget.matches(':focus-visible') ? p.id : null; }}
                    onBlur={(e) => { if (e.relatedTarget) keyboardOn.current = null; }}
                    onClick={() => void close(p)}>{closing[p.id] ? '…' : 'Close'}</button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function History() {
  const c = useController();
  const history = useStore((s) => s.history);
  const loaded = useStore((s) => s.historyLoaded);
  const cursor = useStore((s) => s.historyCursor);
  const quotes = useStore((s) => s.quotes);
  const [busy, setBusy] = useState(false);

  if (!loaded) return <p className="empty">Loading…</p>;
  if (!history.length) return <p className="empty" data-testid="history-empty">No closed trades yet.</p>;
  const price = (s: string | null) => (s == null ? null : parseFixed(s, PRICE_SCALE, 'floor'));
  return (
    <div className="table-wrap">
      <table className="grid" data-testid="history-table">
        <thead>
          <tr>
            <th>Closed</th><th>Asset</th><th>Side</th><th className="num">Size</th><th className="num">Entry</th>
            <th className="num">Exit</th><th>Reason</th><th className="num">Margin</th><th className="num" title="Payout less margin">PnL</th>
          </tr>
        </thead>
        <tbody>
          {history.map((t) => {
            const d = quotes[t.asset]?.decimals ?? 2;
            // what the trade made or lost (a liquidation loses the whole margin), not only the price move
            const pnl = realizedPnl(t);
            const reason = t.closeReason ?? '';
            return (
              <tr key={t.tradeId} data-testid="history-row" data-trade-id={t.tradeId} data-asset={t.asset} data-reason={reason}>
                <td className="muted" data-label="Closed">{fmtTime(t.closedAt)}</td>
                <td data-label="Asset" className="cell-asset">{assetLabel(t.asset)} <span className="lev">{t.leverage}x</span></td>
                <td data-label="Side" className={t.direction === 'LONG' ? 'up' : 'down'}>{t.direction}</td>
                <td className="num" data-label="Size">{fmtQty(parseFixed(t.quantity, QTY_SCALE, 'floor'))}</td>
                <td className="num" data-label="Entry">{fmtPriceExact(price(t.openPrice), d)}</td>
                <td className="num" data-label="Exit" data-testid="history-close-price">{fmtPriceExact(price(t.closePrice), d)}</td>
                <td data-label="Reason"><span className={`reason reason-${reason.toLowerCase()}`} data-testid="history-reason">{REASON_LABEL[reason] ?? reason}</span></td>
                <td className="num" data-label="Margin">{fmtUsd(parseFixed(t.margin, USD_SCALE, 'floor'))}</td>
                <td className={`num cell-pnl ${pnlClass(pnl)}`} data-label="PnL" data-testid="history-pnl">{fmtUsd(pnl, { sign: true })}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {cursor && (
        <button type="button" className="ghost more" disabled={busy} data-testid="history-more"
          onClick={() => {
            setBusy(true);
            void c.loadHistory(false)
              .catch((e) => pushToast('error', 'Older trades could not be loaded', e instanceof ApiError ? e.detail : 'The exchange did not answer.'))
              .finally(() => setBusy(false));
          }}>
          {busy ? 'Loading…' : 'Load more'}
        </button>
      )}
    </div>
  );
}
