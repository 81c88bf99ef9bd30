import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { ApiError, fieldForError, isUncertain } from '../api/http';
import { useController } from './context';
import { RetryKeys } from '../live/controller';
import { useStore } from '../live/store';
import { formatFixed, USD_SCALE, floorDiv } from '../lib/fixed';
import { assetLabel, fmtPrice, fmtPriceExact, fmtQty, fmtUsd, pnlClass, withoutPrices } from '../lib/format';
import { previewOrder, type Direction } from '../lib/positionMath';
import { isDecimalText, parseLeverage } from '../lib/ticketInput';

type Field = 'margin' | 'leverage' | 'stopLoss' | 'takeProfit';
type ServerErrors = Partial<Record<Field | 'form', string>>;

const LEVERAGE_MARKS = [1, 10, 25, 50, 100];
const MESSAGE_ID: Record<Field, string> = {
  margin: 'ticket-margin-error', leverage: 'ticket-leverage-error', stopLoss: 'ticket-sl-error', takeProfit: 'ticket-tp-error',
};

export function OrderTicket() {
  const c = useController();
  const asset = useStore((s) => s.assets.find((a) => a.symbol === s.selected) ?? null);
  const quote = useStore((s) => (s.selected ? s.quotes[s.selected] ?? null : null));
  const free = useStore((s) => s.balance?.free ?? null);

  const [direction, setDirection] = useState<Direction>('LONG');
  const [margin, setMargin] = useState('100');
  const [leverage, setLeverage] = useState(10); // the slider
  const [leverageText, setLeverageText] = useState<string | null>(null); // the box while typed in
  const [stopLoss, setStopLoss] = useState('');
  const [takeProfit, setTakeProfit] = useState('');
  const [serverErrors, setServerErrors] = useState<ServerErrors>({});
  const [busy, setBusy] = useState(false);

  const maxLeverage = asset?.maxLeverage ?? 100;
  useEffect(() => {
    if (leverage > maxLeverage) setLeverage(maxLeverage);
  }, [leverage, maxLeverage]);

  // a new asset or side makes the server's last answer stale
  useEffect(() => setServerErrors({}), [asset?.symbol, direction]);
  // Stop-loss and take-profit are prices of one asset: on another they would be sent as if meant for it.
  useEffect(() => {
    setStopLoss('');
    setTakeProfit('');
  }, [asset?.symbol]);

  // Exactly what the box shows, or null: the order carries this, never an older valid value
  // (typing 150 passes through 15, which the slider follows).
  const shownLeverage = leverageText === null ? leverage : parseLeverage(leverageText, maxLeverage);

  const preview = useMemo(
    () =>
      previewOrder({
        direction, margin, leverage: shownLeverage ?? NaN, stopLoss, takeProfit,
        bid: quote?.bid ?? null, ask: quote?.ask ?? null,
        mmrPpm: asset?.mmrPpm ?? 5000n,
        freeCents: free, minMarginCents: asset?.minMargin, maxMarginCents: asset?.maxMargin, maxLeverage,
      }),
    [direction, margin, shownLeverage, stopLoss, takeProfit, quote, asset, free, maxLeverage],
  );

  const decimals = quote?.decimals ?? 2;
  // Text the request cannot carry blocks submit (its message is an error); the other checks
  // only warn, the engine has the last word on them.
  const unsendable: Record<Field, boolean> = {
    margin: margin.trim() !== '' && !isDecimalText(margin),
    leverage: shownLeverage === null,
    stopLoss: stopLoss.trim() !== '' && !isDecimalText(stopLoss),
    takeProfit: takeProfit.trim() !== '' && !isDecimalText(takeProfit),
  };
  const err = (f: Field) => serverErrors[f] ?? preview.errors[f];
  const message = (f: Field) => ({ id: MESSAGE_ID[f], text: err(f), server: !!serverErrors[f], blocking: unsendable[f] });
  const described = (f: Field) => ({ 'aria-invalid': !!err(f), 'aria-describedby': err(f) ? MESSAGE_ID[f] : undefined });
  const edit = (f: Field, set: (v: string) => void) => (v: string) => {
    set(v);
    if (serverErrors[f] || serverErrors.form) setServerErrors((e) => ({ ...e, [f]: undefined, form: undefined }));
  };

  const setFraction = (num: bigint, den: bigint) => {
    if (free === null) return;
    edit('margin', setMargin)(formatFixed(floorDiv(free * num, den), USD_SCALE));
  };

  const canSubmit = !!asset && !busy && margin.trim() !== '' && !Object.values(unsendable).some(Boolean);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!asset || !canSubmit || shownLeverage === null) return;
    setBusy(true);
    setServerErrors({});
    try {
      // the engine has the last word: warnings above do not block, its answer is shown by the field
      await c.open({ asset: asset.symbol, direction, margin, leverage: shownLeverage, stopLossPrice: stopLoss, takeProfitPrice: takeProfit });
      setStopLoss('');
      setTakeProfit('');
    } catch (ex) {
      if (isUncertain(ex)) {
        // no answer: the order may have been taken, and a retry of it is answered with that outcome
        setServerErrors({ form: `${ex.detail} If it went through, sending the same order again within ${RetryKeys.KeepMs / 60_000} minutes will not open a second trade.` });
      } else if (ex instanceof ApiError) {
        const fields = fieldsFor(ex, { stopLoss, takeProfit });
        setServerErrors(fields.length ? Object.fromEntries(fields.map((f) => [f, ex.detail])) : { form: ex.detail });
      } else {
        setServerErrors({ form: 'The order could not be sent. Try again.' });
      }
    } finally {
      setBusy(false);
    }
  };

  const base = asset?.base ?? '';
  const isLong = direction === 'LONG';

  return (
    <form className="ticket" onSubmit={submit} noValidate data-testid="order-ticket" data-direction={direction} data-asset={asset?.symbol}>
      <div className="ticket-head">
        <strong>{asset ? assetLabel(asset.symbol) : '—'}</strong>
        <span className="ticket-quotes">
          <span className="down" title="Bid (SHORT opens here)" data-testid="ticket-bid">{quote ? fmtPrice(quote.bid, decimals) : '—'}</span>
          <span className="sep">/</span>
          <span className="up" title="Ask (LONG opens here)" data-testid="ticket-ask">{quote ? fmtPrice(quote.ask, decimals) : '—'}</span>
        </span>
      </div>

      <div className="side-switch" role="radiogroup" aria-label="Direction">
        <button type="button" role="radio" aria-checked={isLong} className={`long ${isLong ? 'active' : ''}`}
          data-testid="ticket-long" onClick={() => setDirection('LONG')}>Long</button>
        <button type="button" role="radio" aria-checked={!isLong} className={`short ${!isLong ? 'active' : ''}`}
          data-testid="ticket-short" onClick={() => setDirection('SHORT')}>Short</button>
      </div>

      <label className="field">
        <span>Margin <em>USD</em></span>
        <input inputMode="decimal" autoComplete="off" value={margin} {...described('margin')}
          data-testid="ticket-margin" onChange={(e) => edit('margin', setMargin)(e.target.value)} />
        <FieldMessage {...message('margin')} />
      </label>
      <div className="chips" aria-label="Margin as a share of the free balance">
        {([[1n, 10n, '10%'], [1n, 4n, '25%'], [1n, 2n, '50%'], [1n, 1n, 'Max']] as const).map(([n, d, label]) => (
          <button key={label} type="button" disabled={free === null} onClick={() => setFraction(n, d)}>{label}</button>
        ))}
      </div>

      <div className="field">
        <span className="field-label">
          Leverage
          <input type="number" className="lev-input" min={1} max={maxLeverage} step={1} value={leverageText ?? leverage} aria-label="Leverage"
            {...described('leverage')} data-testid="ticket-leverage-input"
            // an invalid box keeps its text and message: snapping back on blur hid what was wrong
            onBlur={() => { if (shownLeverage !== null) setLeverageText(null); }}
            onChange={(e) => edit('leverage', (v) => {
              setLeverageText(v); // let the field be empty while typing; the slider follows valid values
              const n = parseLeverage(v, maxLeverage);
              if (n !== null) setLeverage(n);
            })(e.target.value)} />
          <em>x</em>
        </span>
        <input type="range" min={1} max={maxLeverage} step={1} value={leverage} aria-label="Leverage slider"
          data-testid="ticket-leverage" onChange={(e) => edit('leverage', (v) => { setLeverageText(null); setLeverage(Number(v)); })(e.target.value)} />
        <div className="lev-marks">
          {LEVERAGE_MARKS.filter((m) => m <= maxLeverage).map((m) => (
            <button key={m} type="button" className={leverage === m ? 'active' : ''} onClick={() => edit('leverage', () => { setLeverageText(null); setLeverage(m); })('')}>{m}x</button>
          ))}
        </div>
        <FieldMessage {...message('leverage')} />
      </div>

      <div className="row2">
        <label className="field">
          <span>Stop-loss <em>optional</em></span>
          <input inputMode="decimal" autoComplete="off" placeholder={isLong ? 'below the bid' : 'above the ask'} value={stopLoss}
            {...described('stopLoss')} data-testid="ticket-sl" onChange={(e) => edit('stopLoss', setStopLoss)(e.target.value)} />
          <FieldMessage {...message('stopLoss')} />
        </label>
        <label className="field">
          <span>Take-profit <em>optional</em></span>
          <input inputMode="decimal" autoComplete="off" placeholder={isLong ? 'above entry' : 'below entry'} value={takeProfit}
            {...described('takeProfit')} data-testid="ticket-tp" onChange={(e) => edit('takeProfit', setTakeProfit)(e.target.value)} />
          <FieldMessage {...message('takeProfit')} />
        </label>
      </div>

      <dl className="preview" aria-label="Order preview">
        <div><dt>Entry price <em>({isLong ? 'ask' : 'bid'})</em></dt><dd data-testid="ticket-entry">{fmtPrice(preview.entryPrice, decimals)}</dd></div>
        <div><dt>Position size</dt><dd data-testid="ticket-size">{preview.quantity === null ? '—' : `${fmtQty(preview.quantity)} ${base}`}</dd></div>
        <div><dt>Notional</dt><dd data-testid="ticket-notional">{fmtUsd(preview.notional)}</dd></div>
        <div><dt>Liquidation price</dt><dd className="liq" data-testid="ticket-liq">{fmtPriceExact(preview.liquidationPrice, decimals)}</dd></div>
        <div><dt>Required margin</dt><dd data-testid="ticket-required-margin">{fmtUsd(preview.requiredMargin)}</dd></div>
        {preview.pnlAtStopLoss !== null && (
          <div><dt>PnL at stop-loss</dt><dd className={pnlClass(preview.pnlAtStopLoss)} data-testid="ticket-pnl-sl">{fmtUsd(preview.pnlAtStopLoss, { sign: true })}</dd></div>
        )}
        {preview.pnlAtTakeProfit !== null && (
          <div><dt>PnL at take-profit</dt><dd className={pnlClass(preview.pnlAtTakeProfit)} data-testid="ticket-pnl-tp">{fmtUsd(preview.pnlAtTakeProfit, { sign: true })}</dd></div>
        )}
      </dl>
      <p className="fine">Fills at the live {isLong ? 'ask' : 'bid'} when the engine takes the order; numbers above use the current quote.</p>

      {serverErrors.form && <p className="error form-error" role="alert" data-testid="ticket-error">{serverErrors.form}</p>}
      {preview.errors.price && <p className="fine" role="status" data-testid="ticket-waiting">{preview.errors.price}</p>}
      {/* Not disabled while sending (submit ignores it then): a disabled button drops the keyboard's focus to the page. */}
      <button type="submit" className={`submit ${isLong ? 'long' : 'short'}`} disabled={!canSubmit && !busy} aria-disabled={busy}
        data-testid="ticket-submit">
        {busy ? 'Sending…' : `${isLong ? 'Buy / Long' : 'Sell / Short'} ${base}`}
      </button>
    </form>
  );
}

/** The engine's answers for the ticket's fields; TRIGGER_PRICE_INVALID names no side, so it goes by each price sent. */
function fieldsFor(ex: ApiError, sent: { stopLoss: string; takeProfit: string }): Field[] {
  if (ex.code === 'TRIGGER_PRICE_INVALID') return (['stopLoss', 'takeProfit'] as const).filter((f) => sent[f].trim() !== '');
  const f = fieldForError(ex);
  return f === 'margin' || f === 'leverage' || f === 'stopLoss' || f === 'takeProfit' ? [f] : [];
}

/**
 * An error (the engine's, or text that cannot be sent) interrupts as an alert; a warning is
 * announced politely. What is announced leaves out the live price a warning quotes: that changes
 * with every tick, and a live region would read the whole warning out again each time. The
 * field's description (aria-describedby) keeps the price.
 */
function FieldMessage({ id, text, server, blocking }: { id: string; text?: string; server: boolean; blocking: boolean }) {
  if (!text) return null;
  const error = server || blocking;
  return (
    <>
      <small className={error ? 'error' : 'warn'} id={id} data-testid={id} data-source={server ? 'api' : 'client'}>
        {text}
      </small>
      <span className="visually-hidden" role={error ? 'alert' : 'status'} data-testid={`${id}-announced`}>{withoutPrices(text)}</span>
    </>
  );
}
