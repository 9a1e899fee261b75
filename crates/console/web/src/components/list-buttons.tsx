// "Block" and "Watch": put a value (an attacker's address, an alert's key) on the blocklist or
// the watchlist from wherever it is shown, with a reason and an expiry (POST /api/blocklist,
// POST /api/watchlist; docs/lists.md).
import { useState } from 'preact/hooks';
import { post } from '../api';
import { toast } from './toast';

/** What a list entry can hold. */
export type ListKind = 'ip' | 'cidr' | 'hostname' | 'username';

/** The expiry of a one-click Block or Watch. */
const DEFAULT_EXPIRY = '30d';

/** The expiries offered (`expires` of the API: a duration, or none). */
export const EXPIRIES: [string, string][] = [
  ['1d', '1 day'],
  ['7d', '7 days'],
  ['30d', '30 days'],
  ['90d', '90 days'],
  ['', 'never'],
];

/** The kind of a value: an address, a network, else a host name. */
export function kindOf(value: string): ListKind {
  if (value.includes('/')) return 'cidr';
  if (/^[0-9.]+$/.test(value) || value.includes(':')) return 'ip';
  return 'hostname';
}

export function ListButtons({ kind, value, reason }: { kind: ListKind; value: string; reason: string }) {
  const [open, setOpen] = useState<'blocklist' | 'watchlist' | null>(null);
  const [done, setDone] = useState<Record<string, boolean>>({});
  const [busy, setBusy] = useState(false);
  // One click: the value goes on the list with the reason shown and the default expiry;
  // the arrow beside each button opens the form to change them first.
  const add = async (list: 'blocklist' | 'watchlist') => {
    setBusy(true);
    try {
      await post(`/api/${list}`, { kind, value, reason, expires: DEFAULT_EXPIRY });
      toast(`${value} added to the ${list}`, 'success');
      setDone((d) => ({ ...d, [list]: true }));
    } catch (err) {
      toast(`Could not add ${value} to the ${list}: ${(err as Error).message}`, 'error');
    } finally {
      setBusy(false);
    }
  };
  const options = (list: 'blocklist' | 'watchlist') => setOpen(open === list ? null : list);
  return (
    <div class="list-buttons needs-write">
      <span class="btn-group">
        <button class="btn danger" disabled={done.blocklist || busy} onClick={() => add('blocklist')}
          title={`Block ${value} for 30 days`}>
          {done.blocklist ? 'Blocked' : 'Block'}
        </button>
        <button class="btn danger narrow" aria-expanded={open === 'blocklist'} disabled={done.blocklist}
          aria-label={`Block ${value} with options`} onClick={() => options('blocklist')}>▾</button>
      </span>
      <span class="btn-group">
        <button class="btn" disabled={done.watchlist || busy} onClick={() => add('watchlist')}
          title={`Watch ${value} for 30 days`}>
          {done.watchlist ? 'Watched' : 'Watch'}
        </button>
        <button class="btn narrow" aria-expanded={open === 'watchlist'} disabled={done.watchlist}
          aria-label={`Watch ${value} with options`} onClick={() => options('watchlist')}>▾</button>
      </span>
      {open && (
        <ListForm list={open} kind={kind} value={value} reason={reason}
          onClose={() => setOpen(null)}
          onDone={() => {
            setDone({ ...done, [open]: true });
            setOpen(null);
          }} />
      )}
    </div>
  );
}

/** The small form of a Block / Watch button: reason and expiry, prefilled. */
function ListForm({ list, kind, value, reason, onClose, onDone }: {
  list: 'blocklist' | 'watchlist';
  kind: ListKind;
  value: string;
  reason: string;
  onClose: () => void;
  onDone: () => void;
}) {
  const [why, setWhy] = useState(reason);
  const [expires, setExpires] = useState(DEFAULT_EXPIRY);
  const [busy, setBusy] = useState(false);
  const verb = list === 'blocklist' ? 'Block' : 'Watch';
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      await post(`/api/${list}`, { kind, value, reason: why, expires: expires || undefined });
      toast(`${value} added to the ${list}`, 'success');
      onDone();
    } catch (err) {
      toast(`Could not add ${value} to the ${list}: ${(err as Error).message}`, 'error');
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="popover list-form" aria-label={`${verb} ${value}`} onSubmit={submit}
      onKeyDown={(e) => e.key === 'Escape' && onClose()}>
      <div class="small muted">{verb} <span class="mono">{value}</span> ({kind})</div>
      <label>
        Reason
        <input value={why} onInput={(e) => setWhy(e.currentTarget.value)} required maxLength={1024} />
      </label>
      <label>
        Expires
        <select value={expires} onChange={(e) => setExpires(e.currentTarget.value)}>
          {EXPIRIES.map(([v, l]) => <option key={v} value={v}>{l}</option>)}
        </select>
      </label>
      <div class="list-form-actions">
        <button type="button" class="btn ghost" onClick={onClose}>Cancel</button>
        <button type="submit" class={list === 'blocklist' ? 'btn danger' : 'btn primary'} disabled={busy}>
          {verb} {value}
        </button>
      </div>
    </form>
  );
}
