import { ApiError, request } from './http';
import type { AuthResult, UserView } from './types';

export interface Credentials {
  email: string;
  password: string;
}

export function signUp(c: Credentials): Promise<AuthResult> {
  return request<AuthResult>('POST', '/auth/signup', { body: c, skipUnauthorizedHandler: true });
}

export function signIn(c: Credentials): Promise<AuthResult> {
  return request<AuthResult>('POST', '/auth/signin', { body: c, skipUnauthorizedHandler: true });
}

/**
 * The signed-in user, or null when there is no valid session. Asks /auth/session, which
 * answers 200 either way, so a signed-out visit logs no failed request in the console.
 */
export async function me(): Promise<UserView | null> {
  try {
    const session = await request<{ user: UserView | null }>('GET', '/auth/session', { skipUnauthorizedHandler: true });
    return session.user ?? null;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return null;
    throw e;
  }
}

export async function signOut(): Promise<void> {
  await request<void>('POST', '/auth/signout', { skipUnauthorizedHandler: true });
}

const SESSION_KEY = 'exchange.session';

/**
 * Tells this site's other tabs that the cookie they all share now signs in someone else, or
 * nobody: without it a tab goes on showing the trader it signed in as while its requests trade
 * for whoever signed in last.
 */
export function announceSession(userId: string | null): void {
  try {
    localStorage.setItem(SESSION_KEY, JSON.stringify({ userId, at: Date.now() }));
  } catch {
    // storage turned off: the other tabs find out when they are looked at again
  }
}

/** Calls back when another tab announces a sign-in or a sign-out; returns the unsubscribe. */
export function onSessionAnnounced(callback: () => void): () => void {
  const listener = (e: StorageEvent) => {
    if (e.key === SESSION_KEY) callback();
  };
  window.addEventListener('storage', listener);
  return () => window.removeEventListener('storage', listener);
}
