// One fetch wrapper for the whole API: same-origin cookie auth, exact JSON numbers, and
// RFC 7807 problem+json turned into ApiError { status, code, detail }.

import { parseJsonExact, stringifyExact } from '../lib/json';

export const API_BASE = '/api/v1';

export class ApiError extends Error {
  constructor(
    public readonly status: number,
    public readonly code: string,
    public readonly detail: string,
    public readonly body?: unknown,
  ) {
    super(detail || code);
    this.name = 'ApiError';
  }
}

interface ProblemBody {
  code?: string;
  detail?: string;
  title?: string;
  errors?: Record<string, string[]>;
  engineResponse?: { code?: string; message?: string };
}

type UnauthorizedHandler = () => void;
let onUnauthorized: UnauthorizedHandler | null = null;

/** Called when an authenticated call answers 401 (the session expired or was signed out elsewhere). */
export function setUnauthorizedHandler(handler: UnauthorizedHandler | null): void {
  onUnauthorized = handler;
}

export function newIdempotencyKey(): string {
  if (typeof crypto !== 'undefined' && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export interface RequestOptions {
  body?: unknown;
  idempotencyKey?: string;
  /** Auth endpoints handle their own 401s (wrong password is not an expired session). */
  skipUnauthorizedHandler?: boolean;
  signal?: AbortSignal;
}

export async function request<T>(method: 'GET' | 'POST', path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = stringifyExact(opts.body);
  }
  if (opts.idempotencyKey) headers['Idempotency-Key'] = opts.idempotencyKey;

  let res: Response;
  try {
    res = await fetch(API_BASE + path, { method, headers, body, credentials: 'same-origin', signal: opts.signal });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(0, 'NETWORK', 'The exchange cannot be reached. Check your connection.');
  }

  const text = res.status === 204 ? '' : await res.text();
  let parsed: unknown = undefined;
  if (text) {
    try {
      parsed = parseJsonExact(text);
    } catch {
      parsed = undefined;
    }
  }
  if (res.ok) return parsed as T;

  const problem = (parsed ?? {}) as ProblemBody;
  const code = problem.code ?? problem.engineResponse?.code ?? `HTTP_${res.status}`;
  const detail = problem.detail ?? problem.engineResponse?.message ?? problem.title ?? (res.statusText || `Request failed (${res.status})`);
  if (res.status === 401 && !opts.skipUnauthorizedHandler) onUnauthorized?.();
  throw new ApiError(res.status, code, detail, parsed);
}

/** No answer either way: the network failed or the exchange erred, so the request may have been carried out. */
export function isUncertain(e: unknown): e is ApiError {
  return e instanceof ApiError && (e.status === 0 || e.status >= 500);
}

/** Which form field an API error belongs to, so it can be shown next to it. */
export function fieldForError(err: ApiError): string | null {
  switch (err.code) {
    case 'INVALID_EMAIL':
    case 'EMAIL_TAKEN':
      return 'email';
    case 'PASSWORD_TOO_SHORT':
    case 'PASSWORD_TOO_LONG':
    case 'INVALID_CREDENTIALS':
      return 'password';
    case 'MARGIN_NOT_POSITIVE':
    case 'MARGIN_TOO_PRECISE':
    case 'MARGIN_BELOW_MINIMUM':
    case 'MARGIN_ABOVE_MAXIMUM':
    case 'INSUFFICIENT_BALANCE':
    case 'POSITION_TOO_LARGE':
      return 'margin';
    case 'LEVERAGE_OUT_OF_RANGE':
    case 'LEVERAGE_NOT_INTEGER':
    case 'WOULD_BE_LIQUIDATED_AT_ONCE':
      return 'leverage';
    case 'STOP_LOSS_WRONG_SIDE':
      return 'stopLoss';
    case 'TAKE_PROFIT_WRONG_SIDE':
      return 'takeProfit';
    case 'MISSING_FIELD': {
      const m = /'(\w+)'/.exec(err.detail);
      return m ? m[1] : null;
    }
    default:
      return null;
  }
}
