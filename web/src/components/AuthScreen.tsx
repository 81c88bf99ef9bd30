import { useState, type FormEvent } from 'react';
import { signIn, signUp } from '../api/auth';
import { ApiError, fieldForError } from '../api/http';
import { ensureAccount } from '../api/trading';
import type { UserView } from '../api/types';
import { navigate } from '../router';

type Mode = 'signin' | 'signup';
type Errors = Partial<Record<'email' | 'password' | 'form', string>>;

export function AuthScreen({ mode, onSignedIn }: { mode: Mode; onSignedIn: (u: UserView) => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<Errors>({});
  const [busy, setBusy] = useState(false);
  const p = mode; // data-testid prefix: signin-… / signup-…

  const switchTo = (m: Mode) => {
    setErrors({});
    navigate(m === 'signup' ? '/signup' : '/signin');
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    setErrors({});
    try {
      const creds = { email: email.trim(), password };
      const result = mode === 'signup' ? await signUp(creds) : await signIn(creds);
      if (mode === 'signup') {
        // the demo account; ACCOUNT_EXISTS is fine, any other failure is retried by the terminal
        await ensureAccount().catch(() => undefined);
      }
      onSignedIn(result.user);
    } catch (err) {
      if (err instanceof ApiError) {
        const field = fieldForError(err);
        setErrors(field === 'email' || field === 'password' ? { [field]: err.detail } : { form: err.detail });
      } else {
        setErrors({ form: 'Something went wrong. Try again.' });
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="auth">
      <div className="auth-card">
        <div className="brand auth-brand">
          <span className="brand-mark" aria-hidden="true" />
          Exchange
        </div>
        <div className="auth-switch" role="tablist">
          <button type="button" role="tab" aria-selected={mode === 'signin'} className={mode === 'signin' ? 'active' : ''}
            data-testid="auth-tab-signin" onClick={() => switchTo('signin')}>Sign in</button>
          <button type="button" role="tab" aria-selected={mode === 'signup'} className={mode === 'signup' ? 'active' : ''}
            data-testid="auth-tab-signup" onClick={() => switchTo('signup')}>Sign up</button>
        </div>
        <form onSubmit={submit} noValidate data-testid={`${p}-form`}>
          <label className="field">
            <span>Email</span>
            <input type="email" autoComplete="email" inputMode="email" value={email} required
              aria-invalid={!!errors.email} aria-describedby={errors.email ? `${p}-email-error` : undefined}
              data-testid={`${p}-email`} onChange={(e) => setEmail(e.target.value)} />
            {errors.email && <small className="error" role="alert" id={`${p}-email-error`} data-testid={`${p}-email-error`}>{errors.email}</small>}
          </label>
          <label className="field">
            <span>Password</span>
            <input type="password" autoComplete={mode === 'signup' ? 'new-password' : 'current-password'} value={password} required
              aria-invalid={!!errors.password} aria-describedby={errors.password ? `${p}-password-error` : undefined}
              data-testid={`${p}-password`} onChange={(e) => setPassword(e.target.value)} />
            {errors.password
              ? <small className="error" role="alert" id={`${p}-password-error`} data-testid={`${p}-password-error`}>{errors.password}</small>
              : mode === 'signup' && <small className="hint">At least 8 characters.</small>}
          </label>
          {errors.form && <p className="error form-error" role="alert" data-testid={`${p}-error`}>{errors.form}</p>}
          <button type="submit" className="primary wide" disabled={busy} data-testid={`${p}-submit`}>
            {busy ? '…' : mode === 'signup' ? 'Create account' : 'Sign in'}
          </button>
        </form>
        <p className="auth-foot">
          {mode === 'signup'
            ? <>New accounts start with a demo USD balance. Have an account? <a href="/signin" onClick={(e) => { e.preventDefault(); switchTo('signin'); }}>Sign in</a></>
            : <>No account yet? <a href="/signup" onClick={(e) => { e.preventDefault(); switchTo('signup'); }}>Sign up</a></>}
        </p>
      </div>
    </main>
  );
}
