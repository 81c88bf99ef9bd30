import { useLiveAccount } from '../live/derived';
import { useStore } from '../live/store';
import { fmtUsd, pnlClass } from '../lib/format';

const MODE_LABEL = { connecting: 'Connecting', push: 'Live', poll: 'Polling', offline: 'Offline' } as const;
const MODE_TITLE = {
  connecting: 'Connecting to the exchange…',
  push: 'Live: prices and trades are pushed by the server',
  poll: 'Live by polling (prices every second, account every 2 s)',
  offline: 'The exchange cannot be reached; retrying',
} as const;

export function AccountBar({ email, onSignOut }: { email: string; onSignOut: () => void }) {
  const a = useLiveAccount();
  const mode = useStore((s) => s.mode);
  return (
    <header className="topbar">
      <div className="brand">
        <span className="brand-mark" aria-hidden="true" />
        <span className="brand-name">Exchange</span>
      </div>
      <dl className="account" aria-label="Account">
        <div>
          <dt>Equity</dt>
          <dd data-testid="balance-equity">{fmtUsd(a.equity)}</dd>
        </div>
        <div>
          <dt>Free</dt>
          <dd data-testid="balance-free">{fmtUsd(a.free)}</dd>
        </div>
        <div>
          <dt>Locked</dt>
          <dd data-testid="balance-locked">{fmtUsd(a.locked)}</dd>
        </div>
        <div className="hide-narrow">
          <dt>Unrealized PnL</dt>
          <dd data-testid="balance-upnl" className={pnlClass(a.unrealized)}>{fmtUsd(a.unrealized, { sign: true })}</dd>
        </div>
      </dl>
      <div className="session">
        <span className={`mode mode-${mode}`} title={MODE_TITLE[mode]} data-testid="connection-mode" data-mode={mode}>
          <i aria-hidden="true" />
          <span className="hide-narrow">{MODE_LABEL[mode]}</span>
        </span>
        <span className="email hide-narrow" data-testid="user-email" title={email}>{email}</span>
        <button type="button" className="ghost" onClick={onSignOut} data-testid="signout">Sign out</button>
      </div>
    </header>
  );
}
