// The login page (POST /api/login with the user's name and password).
import { useState } from 'preact/hooks';
import { ApiError, api, setCsrf } from '../api';

export function Login({ onDone }: { onDone: () => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      const r = await api('POST', '/api/login', { body: { username, password }, quiet401: true });
      setCsrf(r?.csrf_token ?? null);
      setPassword('');
      onDone();
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 401
          ? 'Wrong user name or password.'
          : (err as Error).message,
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="login-page">
      <form class="login-card" onSubmit={submit} aria-label="Log in">
        <div class="login-brand">
          <span class="brand-mark">F</span> ferrodef
        </div>
        <label>
          User
          <input name="username" autocomplete="username" autofocus value={username}
            onInput={(e) => setUsername(e.currentTarget.value)} required />
        </label>
        <label>
          Password
          <input name="password" type="password" autocomplete="current-password" value={password}
            onInput={(e) => setPassword(e.currentTarget.value)} required />
        </label>
        {error && <div class="error-box" role="alert">{error}</div>}
        <button class="btn primary" type="submit" disabled={busy}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
      </form>
    </div>
  );
}
