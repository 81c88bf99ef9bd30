import { useCallback, useEffect, useState } from 'react';
import { me, signOut } from './api/auth';
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
    if (session.state === 'out' && path !== '/signin' && path !== '/signup') navigate('/signin', true);
    if (session.state === 'in' && path !== '/') navigate('/', true);
  }, [session.state, path]);

  const onSignedIn = useCallback((user: UserView) => setSession({ state: 'in', user }), []);
  const onSignOut = useCallback(async () => {
    await signOut().catch(() => undefined);
    setSession({ state: 'out' });
  }, []);

  if (session.state === 'loading') return <div className="splash" aria-busy="true" />;
  if (session.state === 'out') return <AuthScreen mode={path === '/signup' ? 'signup' : 'signin'} onSignedIn={onSignedIn} />;
  return <Terminal user={session.user} onSignOut={onSignOut} />;
}
