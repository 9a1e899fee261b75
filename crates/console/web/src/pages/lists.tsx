// Lists: the blocklist and the watchlist (GET/POST /api/blocklist, /api/watchlist, DELETE
// /api/{list}/{id}): entries in force with their kind, reason, expiry, creator; adding one;
// removing one. The blocklist's plain-text form for firewalls is linked (/api/blocklist.txt).
import { useEffect, useState } from 'preact/hooks';
import { api, get, post } from '../api';
import { EXPIRIES, ListKind, kindOf } from '../components/list-buttons';
import { toast } from '../components/toast';
import { Location, navigate } from '../router';
import { formatTime } from '../time';

/** One entry, as the API lists them. */
export interface ListEntry {
  id: string;
  kind: ListKind;
  value: string;
  reason: string;
  expires: string | null;
  creator: string;
  created: string;
}

type ListId = 'blocklist' | 'watchlist';
const KINDS: ListKind[] = ['ip', 'cidr', 'hostname', 'username'];

export function ListsPage({ loc }: { loc: Location }) {
  const list: ListId = loc.params.get('list') === 'watchlist' ? 'watchlist' : 'blocklist';
  const kind = loc.params.get('kind') ?? '';
  const [entries, setEntries] = useState<ListEntry[] | null>(null);
  const [err, setErr] = useState('');
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const ctl = new AbortController();
    setErr('');
    get<{ total: number; entries: ListEntry[] }>(`/api/${list}`, { kind }, ctl.signal)
      .then((r) => setEntries(r?.entries ?? []))
      .catch((e) => e.name !== 'AbortError' && setErr(e.message));
    return () => ctl.abort();
  }, [list, kind, tick]);
  const go = (params: Record<string, string>) => navigate('lists', { list, kind, ...params }, true);
  const remove = async (e: ListEntry) => {
    if (!window.confirm(`Remove ${e.value} from the ${list}?`)) return;
    try {
      await api('DELETE', `/api/${list}/${encodeURIComponent(e.id)}`);
      toast(`${e.value} removed from the ${list}`, 'success');
      setTick((n) => n + 1);
    } catch (x) {
      toast(`Could not remove ${e.value}: ${(x as Error).message}`, 'error');
    }
  };
  return (
    <div class="lists-page">
      <div class="toolbar">
        <h1 class="page-title">Lists</h1>
        <div class="tabs" role="tablist">
          {(['blocklist', 'watchlist'] as ListId[]).map((l) => (
            <button key={l} role="tab" aria-selected={list === l} class={list === l ? 'tab active' : 'tab'}
              onClick={() => navigate('lists', { list: l }, true)}>
              {l === 'blocklist' ? 'Blocklist' : 'Watchlist'}
            </button>
          ))}
        </div>
        <select aria-label="Kind" value={kind} onChange={(e) => go({ kind: e.currentTarget.value })}>
          <option value="">Kind: any</option>
          {KINDS.map((k) => <option key={k} value={k}>{k}</option>)}
        </select>
        <div class="spacer" />
        {list === 'blocklist' && (
          <a class="btn" href="/api/blocklist.txt" target="_blank" rel="noopener"
            title="Addresses and networks, one a line, for firewalls (docs/lists.md)">blocklist.txt</a>
        )}
      </div>
      <AddEntry list={list} onAdded={() => setTick((n) => n + 1)} />
      {err && <div class="error-box" role="alert">{err}</div>}
      {!entries && !err && <div class="panel empty">Loading…</div>}
      {entries && (
        <div class="panel table-panel">
          <div class="panel-head"><span><strong>{entries.length}</strong> entries in force</span></div>
          {!entries.length ? <div class="empty">The {list} is empty.</div> : (
            <table class="events" data-testid="list-entries">
              <thead>
                <tr><th>Value</th><th>Kind</th><th class="col-summary">Reason</th><th>Expires (UTC)</th><th>By</th><th>Added (UTC)</th><th /></tr>
              </thead>
              <tbody>
                {entries.map((e) => (
                  <tr key={e.id} data-entry-id={e.id}>
                    <td class="mono">{e.value}</td>
                    <td>{e.kind}</td>
                    <td class="col-summary">{e.reason}</td>
                    <td class="mono">{e.expires ? formatTime(Date.parse(e.expires), false) : 'never'}</td>
                    <td>{e.creator}</td>
                    <td class="mono">{formatTime(Date.parse(e.created), false)}</td>
                    <td class="actions needs-write">
                      <button class="btn small" aria-label={`Remove ${e.value}`} onClick={() => remove(e)}>Remove</button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      )}
    </div>
  );
}

/** The form adding an entry: value (its kind guessed, changeable), reason, expiry. */
function AddEntry({ list, onAdded }: { list: ListId; onAdded: () => void }) {
  const [value, setValue] = useState('');
  const [kind, setKind] = useState<ListKind | ''>('');
  const [reason, setReason] = useState('');
  const [expires, setExpires] = useState('30d');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    const v = value.trim();
    try {
      await post(`/api/${list}`, { kind: kind || kindOf(v), value: v, reason, expires: expires || undefined });
      toast(`${v} added to the ${list}`, 'success');
      setValue('');
      setReason('');
      setKind('');
      onAdded();
    } catch (x) {
      toast(`Could not add ${v}: ${(x as Error).message}`, 'error');
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="panel add-entry needs-write" onSubmit={submit} aria-label={`Add to the ${list}`}>
      <input aria-label="Value" placeholder="IP, CIDR, host name or user name" value={value} required
        onInput={(e) => setValue(e.currentTarget.value)} />
      <select aria-label="Entry kind" value={kind} onChange={(e) => setKind(e.currentTarget.value as ListKind | '')}>
        <option value="">{value.trim() ? `kind: ${kindOf(value.trim())}` : 'kind: guess'}</option>
        {KINDS.map((k) => <option key={k} value={k}>{k}</option>)}
      </select>
      <input aria-label="Reason" placeholder="Reason" value={reason} required maxLength={1024}
        onInput={(e) => setReason(e.currentTarget.value)} />
      <select aria-label="Expires" value={expires} onChange={(e) => setExpires(e.currentTarget.value)}>
        {EXPIRIES.map(([v, l]) => <option key={v} value={v}>expires: {l}</option>)}
      </select>
      <button class="btn primary" type="submit" disabled={busy}>Add</button>
    </form>
  );
}
