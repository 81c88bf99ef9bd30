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
