import { dismissToast } from '../live/controller';
import { useStore } from '../live/store';

const ICON: Record<string, string> = {
  liquidation: '⚠', 'stop-loss': '■', 'take-profit': '✓', manual: '✓', opened: '●', error: '!', info: 'i',
};

export function Toasts() {
  const toasts = useStore((s) => s.toasts);
  return (
    <div className="toasts" aria-live="polite" data-testid="toasts">
      {toasts.map((t) => (
        <div key={t.id} className={`toast toast-${t.kind}`} role={t.kind === 'liquidation' || t.kind === 'error' ? 'alert' : 'status'}
          data-testid="toast" data-kind={t.kind}>
          <span className="toast-icon" aria-hidden="true">{ICON[t.kind] ?? 'i'}</span>
          <div className="toast-text">
            <strong>{t.title}</strong>
            {t.body && <span>{t.body}</span>}
          </div>
          <button type="button" className="toast-x" aria-label="Dismiss" onClick={() => dismissToast(t.id)}>×</button>
        </div>
      ))}
    </div>
  );
}
