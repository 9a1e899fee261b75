// Users and tokens (admins): GET/POST /api/users, PATCH /api/users/{name} (role, disable,
// unlock), POST /api/users/{name}/password (reset), GET/POST /api/tokens, DELETE
// /api/tokens/{id}. A new token is shown once, as the server answers it.
import { useEffect, useState } from 'preact/hooks';
import { api, get, post } from '../api';
import { toast } from '../components/toast';
import { formatTime } from '../time';

interface User {
  id: number;
  name: string;
  role: string;
  disabled: boolean;
  locked_until?: string;
  failed_logins: number;
  created: string;
  changed: string;
}
interface Token {
  id: string;
  name: string;
  user?: string;
  source?: string;
  role: string;
  created: string;
  created_by: string;
  last_used: string | null;
  revoked: string | null;
}

const ROLES = ['viewer', 'analyst', 'admin'];
const when = (t: string | null | undefined) => (t ? formatTime(Date.parse(t), false) : '—');

export function UsersPage() {
  const [users, setUsers] = useState<User[] | null>(null);
  const [tokens, setTokens] = useState<Token[] | null>(null);
  const [err, setErr] = useState('');
  const [tick, setTick] = useState(0);
  const reload = () => setTick((n) => n + 1);
  useEffect(() => {
    const ctl = new AbortController();
    Promise.all([get<{ users: User[] }>('/api/users', {}, ctl.signal), get<{ tokens: Token[] }>('/api/tokens', {}, ctl.signal)])
      .then(([u, t]) => {
        setUsers(u?.users ?? []);
        setTokens(t?.tokens ?? []);
      })
      .catch((e) => e.name !== 'AbortError' && setErr(e.message));
    return () => ctl.abort();
  }, [tick]);

  const change = async (u: User, body: Record<string, unknown>, what: string) => {
    try {
      await api('PATCH', `/api/users/${encodeURIComponent(u.name)}`, { body });
      toast(`${u.name}: ${what}`, 'success');
      reload();
    } catch (e) {
      toast(`${u.name}: ${(e as Error).message}`, 'error');
    }
  };
  const reset = async (u: User) => {
    const password = window.prompt(`New password for ${u.name} (at least 8 characters)`);
    if (!password) return;
    try {
      await post(`/api/users/${encodeURIComponent(u.name)}/password`, { password });
      toast(`${u.name}: password reset`, 'success');
    } catch (e) {
      toast(`${u.name}: ${(e as Error).message}`, 'error');
    }
  };
  const revoke = async (t: Token) => {
    if (!window.confirm(`Revoke the token “${t.name}” (${t.id})?`)) return;
    try {
      await api('DELETE', `/api/tokens/${encodeURIComponent(t.id)}`);
      toast(`Token ${t.id} revoked`, 'success');
      reload();
    } catch (e) {
      toast(`Token ${t.id}: ${(e as Error).message}`, 'error');
    }
  };

  return (
    <div class="users-page">
      <div class="toolbar"><h1 class="page-title">Users</h1></div>
      {err && <div class="error-box" role="alert">{err}</div>}
      <NewUser onDone={reload} />
      {users && (
        <div class="panel table-panel">
          <table class="events" data-testid="users">
            <thead>
              <tr><th>Name</th><th>Role</th><th>State</th><th class="num">Failed logins</th><th>Created (UTC)</th><th>Changed (UTC)</th><th /></tr>
            </thead>
            <tbody>
              {users.map((u) => (
                <tr key={u.name} data-user={u.name}>
                  <td>{u.name}</td>
                  <td>
                    <select aria-label={`Role of ${u.name}`} value={u.role}
                      onChange={(e) => change(u, { role: e.currentTarget.value }, `role ${e.currentTarget.value}`)}>
                      {ROLES.map((r) => <option key={r} value={r}>{r}</option>)}
                    </select>
                  </td>
                  <td class="user-state">
                    {u.disabled ? 'disabled' : u.locked_until ? `locked until ${when(u.locked_until)}` : 'active'}
                  </td>
                  <td class="num">{u.failed_logins}</td>
                  <td class="mono">{when(u.created)}</td>
                  <td class="mono">{when(u.changed)}</td>
                  <td class="actions">
                    {u.disabled
                      ? <button class="btn small" onClick={() => change(u, { disabled: false }, 'enabled')}>Enable</button>
                      : <button class="btn small" onClick={() => change(u, { disabled: true }, 'disabled')}>Disable</button>}
                    {u.locked_until && <button class="btn small" onClick={() => change(u, { unlock: true }, 'unlocked')}>Unlock</button>}
                    <button class="btn small" onClick={() => reset(u)}>Reset password</button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div class="toolbar"><h2 class="page-title">API tokens</h2></div>
      <NewToken users={users ?? []} onDone={reload} />
      {tokens && (
        <div class="panel table-panel">
          <table class="events" data-testid="tokens">
            <thead>
              <tr><th>Id</th><th>Name</th><th>Owner</th><th>Role</th><th>Created (UTC)</th><th>By</th><th>Last used</th><th>State</th><th /></tr>
            </thead>
            <tbody>
              {tokens.map((t) => (
                <tr key={t.id} data-token={t.id}>
                  <td class="mono">{t.id}</td>
                  <td>{t.name}</td>
                  <td>{t.user ?? (t.source ? `source:${t.source}` : '—')}</td>
                  <td>{t.role}</td>
                  <td class="mono">{when(t.created)}</td>
                  <td>{t.created_by}</td>
                  <td class="mono">{when(t.last_used)}</td>
                  <td>{t.revoked ? `revoked ${when(t.revoked)}` : 'active'}</td>
                  <td class="actions">{!t.revoked && <button class="btn small" onClick={() => revoke(t)}>Revoke</button>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

function NewUser({ onDone }: { onDone: () => void }) {
  const [name, setName] = useState('');
  const [role, setRole] = useState('viewer');
  const [password, setPassword] = useState('');
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      await post('/api/users', { name: name.trim(), role, password });
      toast(`User ${name.trim()} created`, 'success');
      setName('');
      setPassword('');
      onDone();
    } catch (x) {
      toast(`Could not create ${name.trim()}: ${(x as Error).message}`, 'error');
    }
  };
  return (
    <form class="panel add-entry" onSubmit={submit} aria-label="New user">
      <input aria-label="New user name" placeholder="User name" value={name} required onInput={(e) => setName(e.currentTarget.value)} />
      <select aria-label="New user role" value={role} onChange={(e) => setRole(e.currentTarget.value)}>
        {ROLES.map((r) => <option key={r} value={r}>{r}</option>)}
      </select>
      <input aria-label="New user password" type="password" autocomplete="new-password" placeholder="Password (8+ characters)"
        value={password} required minLength={8} onInput={(e) => setPassword(e.currentTarget.value)} />
      <button class="btn primary" type="submit">Create user</button>
    </form>
  );
}

function NewToken({ users, onDone }: { users: User[]; onDone: () => void }) {
  const [name, setName] = useState('');
  const [role, setRole] = useState('viewer');
  const [owner, setOwner] = useState('');
  const [source, setSource] = useState('');
  const [shown, setShown] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      const body: Record<string, string> = { name: name.trim(), role };
      if (owner === 'source') body.source = source.trim();
      else if (owner) body.user = owner;
      const r = await post<{ token: string }>('/api/tokens', body);
      setShown(r.token);
      setName('');
      onDone();
    } catch (x) {
      toast(`Could not create the token: ${(x as Error).message}`, 'error');
    }
  };
  return (
    <>
      <form class="panel add-entry" onSubmit={submit} aria-label="New token">
        <input aria-label="Token name" placeholder="What it is for" value={name} required onInput={(e) => setName(e.currentTarget.value)} />
        <select aria-label="Token owner" value={owner} onChange={(e) => setOwner(e.currentTarget.value)}>
          <option value="">owner: me</option>
          {users.map((u) => <option key={u.name} value={u.name}>owner: {u.name}</option>)}
          <option value="source">owner: a log source…</option>
        </select>
        {owner === 'source' && (
          <input aria-label="Source name" placeholder="Source name" value={source} required onInput={(e) => setSource(e.currentTarget.value)} />
        )}
        <select aria-label="Token role" value={role} onChange={(e) => setRole(e.currentTarget.value)}>
          {[...ROLES, 'ingest'].map((r) => <option key={r} value={r}>{r}</option>)}
        </select>
        <button class="btn primary" type="submit">Create token</button>
      </form>
      {shown && (
        <div class="panel token-shown" role="status">
          <div class="small muted">The token, shown this once: copy it now.</div>
          <code data-testid="new-token">{shown}</code>
          <button class="btn small" onClick={() => setShown(null)}>Done</button>
        </div>
      )}
    </>
  );
}
