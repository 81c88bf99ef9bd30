import { useEffect, useState } from 'react';
import type { UserView } from '../api/types';
import { TerminalController } from '../live/controller';
import { AccountBar } from './AccountBar';
import { AssetTabs } from './AssetTabs';
import { ControllerContext } from './context';
import { OrderTicket } from './OrderTicket';
import { Blotter } from './Blotter';
import { PriceChart } from './PriceChart';
import { Toasts } from './Toasts';

export function Terminal({ user, onSignOut }: { user: UserView; onSignOut: () => void }) {
  const [controller] = useState(() => new TerminalController());

  useEffect(() => {
    // StrictMode mounts twice in development: start on mount, stop on unmount, every time
    const c = controller;
    void c.start();
    return () => c.stop();
  }, [controller]);

  return (
    <ControllerContext.Provider value={controller}>
      <div className="terminal">
        <AccountBar email={user.email} onSignOut={onSignOut} />
        <AssetTabs />
        <section className="panel chart-panel">
          <PriceChart />
        </section>
        <aside className="panel ticket-panel">
          <OrderTicket />
        </aside>
        <section className="panel blotter-panel">
          <Blotter />
        </section>
      </div>
      <Toasts />
    </ControllerContext.Provider>
  );
}
