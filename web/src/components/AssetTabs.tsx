import { useController } from './context';
import { useStore } from '../live/store';
import { assetLabel, fmtPrice } from '../lib/format';

export function AssetTabs() {
  const c = useController();
  const assets = useStore((s) => s.assets);
  const quotes = useStore((s) => s.quotes);
  const open24h = useStore((s) => s.open24h);
  const selected = useStore((s) => s.selected);

  return (
    <nav className="asset-tabs" role="tablist" aria-label="Assets">
      {assets.map((a) => {
        const q = quotes[a.symbol];
        const ref = open24h[a.symbol];
        const change = q && ref ? ((Number(q.bid) / 1e8 - ref) / ref) * 100 : null; // display only
        return (
          <button key={a.symbol} type="button" role="tab" aria-selected={selected === a.symbol}
            className={`asset-tab ${selected === a.symbol ? 'active' : ''}`}
            data-testid="asset-tab" data-asset={a.symbol} onClick={() => c.select(a.symbol)}>
            <span className="asset-name">{assetLabel(a.symbol)}</span>
            <span className="asset-quotes">
              <span className={`bid ${q?.move ?? ''}`} title="Bid" data-testid="asset-bid">{q ? fmtPrice(q.bid, q.decimals) : '—'}</span>
              <span className="ask" title="Ask" data-testid="asset-ask">{q ? fmtPrice(q.ask, q.decimals) : '—'}</span>
            </span>
            <span className={`asset-change ${change === null ? 'flat' : change >= 0 ? 'up' : 'down'}`}
              title={change === null ? '24 h change appears once the server has candle history' : '24 h change (bid)'}
              data-testid="asset-change">
              {change === null ? '24h —' : `${change >= 0 ? '+' : ''}${change.toFixed(2)}%`}
            </span>
          </button>
        );
      })}
    </nav>
  );
}
