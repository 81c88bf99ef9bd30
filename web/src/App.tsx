import { useCallback, useEffect, useState } from 'react';
import { announceSession, me, onSessionAnnounced, signOut } from './api/auth';
import { setUnauthorizedHandler } from './api/http';
import type { UserView } from './api/types';
import { AuthScreen } from './components/AuthScreen';
import { Terminal } from './components/Terminal';
import { navigate, usePath } from './router';

type Session = { state: 'loading' } | { state: 'out' } | { state: 'in'; user: UserView };

export function App() {
  const [session, setSession] = useState<Session>({ state: 'loading' });
  const path = usePath();

  useEffect(() => {
    let live = true;
    me()
      .then((user) => live && setSession(user ? { state: 'in', user } : { state: 'out' }))
      .catch(() => live && setSession({ state: 'out' }));
    setUnauthorizedHandler(() => setSession({ state: 'out' }));
    return () => {
      live = false;
      setUnauthorizedHandler(null);
    };
  }, []);

  useEffect(() => {
    // Every tab of this site shares the cookie: a sign-in or sign-out in another one changes who
    // this tab's requests trade as. It asks who that is when told, and when it is looked at again.
    const recheck = () => {
      me()
        .then((user) => setSession((current) => {
          if (current.state === 'loading') return current;
          if (user ? current.state === 'in' && current.user.id === user.id : current.state === 'out') return current;
          return user ? { state: 'in', user } : { state: 'out' };
        }))
        .catch(() => undefined);
    };
    const onVisible = () => {
      if (document.visibilityState === 'visible') recheck();
    };
    const unsubscribe = onSessionAnnounced(recheck);
    document.addEventListener('visibilitychange', onVisible);
    window.addEventListener('focus', recheck);
    return () => {
      unsubscribe();
      document.removeEventListener('visibilitychange', onVisible);
      window.removeEventListener('focus', recheck);
    };
  }, []);

  useEffect(() => {
    if (session.state === 'out' && path !== '/signin' && path !== '/signup') navigate('/signin', true);
    if (session.state === 'in' && path !== '/') navigate('/', true);
  }, [session.state, path]);

  const onSignedIn = useCallback((user: UserView) => {
    announceSession(user.id);
    setSession({ state: 'in', user });
  }, []);
  const onSignOut = useCallback(async () => {
    await signOut().catch(() => undefined);
    announceSession(null);
    setSession({ state: 'out' });
  }, []);

  if (session.state === 'loading') return <div className="splash" aria-busy="true" />;
  if (session.state === 'out') return <AuthScreen mode={path === '/signup' ? 'signup' : 'signin'} onSignedIn={onSignedIn} />;
  // keyed by the trader: another one gets a terminal of their own, nothing carried over
  return <Terminal key={session.user.id} user={session.user} onSignOut={onSignOut} />;
}
