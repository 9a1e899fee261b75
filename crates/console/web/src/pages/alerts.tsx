// Alerts: the live list (new alerts arrive over GET /api/alerts/stream, or by polling when the
// stream is unavailable), filters in the URL, triage actions, each alert's events, and the
// incidents it is in (Create incident / Add to incident).
import { Fragment } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, get, post } from '../api';
import { Icon } from '../components/icons';
import { JsonTree } from '../components/json-tree';
import { ListButtons, kindOf } from '../components/list-buttons';
import { toast } from '../components/toast';
import { Location, navigate } from '../router';
import { formatTime } from '../time';
import { IncidentButtons } from './incidents';
import { Severity, rowKey } from './search';

/** One alert, as `GET /api/alerts` lists them. */
export interface Alert {
  id: string;
  utctimestamp: string;
  severity: string;
  summary: string;
  category?: string;
  tags?: string[];
  rule?: string;
  rule_kind?: string;
  key?: string;
  count?: number;
  status?: string;
  assignee?: string | null;
  comments?: { user: string; at: string; text: string }[];
  events?: Record<string, unknown>[];
}

/** Whether `s` is an IPv4 or IPv6 address (roughly: the server decides). */
const isIp = (s: string) => /^\d{1,3}(\.\d{1,3}){3}$/.test(s) || (s.includes(':') && /^[0-9a-fA-F:.]+$/.test(s));

const STATUSES = ['open', 'acknowledged', 'escalated', 'closed'];
// The alerts' severities (MozDef's, syslog's names), most severe first.
const SEVERITIES = ['EMERGENCY', 'ALERT', 'CRITICAL', 'ERROR', 'WARNING', 'NOTICE', 'INFO', 'DEBUG'];
const FILTERS = ['q', 'status', 'severity', 'category', 'rule'] as const;
const POLL_MS = 15_000;

export function AlertsPage({ loc }: { loc: Location }) {
  const f = Object.fromEntries(FILTERS.map((k) => [k, loc.params.get(k) ?? ''])) as Record<(typeof FILTERS)[number], string>;
  const setFilter = (k: string, v: string) => navigate('alerts', { ...f, [k]: v }, true);
  const [data, setData] = useState<{ total: number; alerts: Alert[] } | null>(null);
  const [state, setState] = useState<'loading' | 'ok' | 'missing' | 'error'>('loading');
  const [err, setErr] = useState('');
  const [tick, setTick] = useState(0);
  const [live, setLive] = useState<'stream' | 'polling' | 'off'>('off');
  const [open, setOpen] = useState<string | null>(null);
  const [qText, setQText] = useState(f.q);
  useEffect(() => setQText(f.q), [f.q]);

  const key = FILTERS.map((k) => f[k]).join('\u0000');
  // Alerts pushed by the stream: shown at once, and kept until a reload of the list has them
  // (the store makes a new alert searchable a moment after it is announced).
  const pushed = useRef<Alert[]>([]);
  const autoOpened = useRef('');
  useEffect(() => {
    pushed.current = [];
  }, [key]);
  useEffect(() => {
    const ctl = new AbortController();
    get<{ total: number; alerts: Alert[] }>('/api/alerts', { ...f, size: 200 }, ctl.signal)
      .then((r) => {
        const listed = r?.alerts ?? [];
        const ids = new Set(listed.map((a) => a.id));
        pushed.current = pushed.current.filter((a) => !ids.has(a.id));
        setData({ total: (r?.total ?? 0) + pushed.current.length, alerts: [...pushed.current, ...listed] });
        setState('ok');
        // One alert asked for by id (from an incident, an attacker): opened, once.
        if (/^id:\S+$/.test(f.q) && listed.length === 1 && autoOpened.current !== f.q) {
          autoOpened.current = f.q;
          setOpen(listed[0].id);
        }
      })
      .catch((e) => {
        if (e.name === 'AbortError') return;
        if (e instanceof ApiError && e.status === 404) setState('missing');
        else {
          setErr(e.message);
          setState('error');
        }
      });
    return () => ctl.abort();
  }, [key, tick]);

  const onPushed = (a: Alert | null) => {
    if (a && matchesFilters(a, f) && !pushed.current.some((p) => p.id === a.id)) {
      pushed.current = [a, ...pushed.current].slice(0, 200);
      setData((d) => (d && !d.alerts.some((x) => x.id === a.id) ? { total: d.total + 1, alerts: [a, ...d.alerts] } : d));
    }
    // And the list again, a moment later, for what the push does not carry.
    setTimeout(() => setTick((n) => n + 1), 1000);
  };
  useLiveAlerts(state === 'ok', onPushed, setLive);

  const act = async (a: Alert, status: string) => {
    const comment = status === 'open' ? undefined : window.prompt(`Comment for “${status}” (optional)`) ?? undefined;
    try {
      await post(`/api/alerts/${encodeURIComponent(a.id)}/status`, comment ? { status, comment } : { status });
      toast(`Alert ${status}`, 'success');
      setTick((n) => n + 1);
    } catch (e) {
      toast(`Could not set the alert ${status}: ${(e as Error).message}`, 'error');
    }
  };

  return (
    <div class="alerts-page">
      <div class="toolbar">
        <h1 class="page-title">Alerts</h1>
        <form class="alert-filters" onSubmit={(e) => { e.preventDefault(); setFilter('q', qText.trim()); }}>
          <input data-query-input aria-label="Filter alerts" placeholder="Filter alerts…" value={qText}
            onInput={(e) => setQText(e.currentTarget.value)} />
          <Select label="Status" value={f.status} options={STATUSES} onChange={(v) => setFilter('status', v)} />
          <Select label="Severity" value={f.severity} options={SEVERITIES} onChange={(v) => setFilter('severity', v)} />
          <input aria-label="Category" placeholder="Category" value={f.category}
            onChange={(e) => setFilter('category', e.currentTarget.value.trim())} />
          <input aria-label="Rule" placeholder="Rule" value={f.rule}
            onChange={(e) => setFilter('rule', e.currentTarget.value.trim())} />
        </form>
        <div class="spacer" />
        <span class={`live live-${live}`} title="How new alerts arrive">
          {live === 'stream' ? '● live' : live === 'polling' ? `● every ${POLL_MS / 1000}s` : '○ not live'}
        </span>
      </div>
      {state === 'loading' && <div class="panel empty">Loading…</div>}
      {state === 'missing' && (
        <div class="panel empty" data-testid="alerts-missing">Alerts are not available yet on this server.</div>
      )}
      {state === 'error' && <div class="error-box" role="alert">{err}</div>}
      {state === 'ok' && data && (
        <div class="panel table-panel">
          <div class="panel-head"><span><strong>{data.total.toLocaleString()}</strong> alerts</span></div>
          {!data.alerts.length ? <div class="empty">No alerts match.</div> : (
            <table class="events" data-testid="alerts">
              <thead>
                <tr>
                  <th class="col-caret" /><th class="col-time">Time (UTC)</th><th>Severity</th><th>Status</th>
                  <th class="col-summary">Summary</th><th>Category</th><th>Rule</th><th class="num">Events</th><th>Assignee</th><th />
                </tr>
              </thead>
              <tbody>
                {data.alerts.map((a) => (
                  <Fragment key={a.id}>
                    <tr class={open === a.id ? 'event-row open' : 'event-row'} tabIndex={0} aria-expanded={open === a.id}
                      data-alert-id={a.id}
                      onClick={() => setOpen(open === a.id ? null : a.id)}
                      onKeyDown={(e) => rowKey(e, () => setOpen(open === a.id ? null : a.id))}>
                      <td class="col-caret"><span class="caret"><Icon name="chevron" size={12} /></span></td>
                      <td class="col-time mono">{formatTime(Date.parse(a.utctimestamp), false)}</td>
                      <td><Severity value={a.severity} /></td>
                      <td><span class={`status status-${a.status ?? 'open'}`}>{a.status ?? 'open'}</span></td>
                      <td class="col-summary">{a.summary}</td>
                      <td>{a.category}</td>
                      <td class="mono small nowrap">{a.rule}</td>
                      <td class="num">{a.count ?? a.events?.length ?? 0}</td>
                      <td>{a.assignee ?? ''}</td>
                      <td class="actions needs-write" onClick={(e) => e.stopPropagation()}>
                        {a.status !== 'acknowledged' && a.status !== 'closed' && (
                          <button class="btn small" onClick={() => act(a, 'acknowledged')}>Ack</button>
                        )}
                        {a.status !== 'escalated' && a.status !== 'closed' && (
                          <button class="btn small" onClick={() => act(a, 'escalated')}>Escalate</button>
                        )}
                        {a.status !== 'closed'
                          ? <button class="btn small" onClick={() => act(a, 'closed')}>Close</button>
                          : <button class="btn small" onClick={() => act(a, 'open')}>Reopen</button>}
                      </td>
                    </tr>
                    {open === a.id && (
                      <tr class="event-detail">
                        <td colSpan={10}>
                          <div class="alert-meta small">
                            <span>id <code>{a.id}</code></span>
                            {a.rule_kind && <span>kind {a.rule_kind}</span>}
                            {a.key && (isIp(a.key)
                              ? <span>key <a class="mono" href={`/ui/attackers/${encodeURIComponent(a.key)}`}
                                  onClick={(e) => { e.preventDefault(); navigate(`attackers/${encodeURIComponent(a.key ?? '')}`); }}>{a.key}</a></span>
                              : <span>key <code>{a.key}</code></span>)}
                            {a.tags?.length ? <span>tags {a.tags.join(', ')}</span> : null}
                            {a.key && <ListButtons kind={kindOf(a.key)} value={a.key} reason={`alert ${a.id}: ${a.summary}`} />}
                            <IncidentButtons alert={a} />
                          </div>
                          {a.comments?.length ? (
                            <div class="alert-comments small">
                              {a.comments.map((c, i) => (
                                <div key={i}><span class="mono muted">{formatTime(Date.parse(c.at), false)}</span> <strong>{c.user}</strong>: {c.text}</div>
                              ))}
                            </div>
                          ) : null}
                          <AlertTriage alert={a} onDone={() => setTick((n) => n + 1)} />
                          {(a.events ?? []).length
                            ? (a.events ?? []).map((ev, i) => <AlertEvent key={i} event={ev} initiallyOpen={(a.events ?? []).length === 1} />)
                            : <div class="muted small">No events attached.</div>}
                        </td>
                      </tr>
                    )}
                  </Fragment>
                ))}
              </tbody>
            </table>
          )}
        </div>
      )}
    </div>
  );
}

/** Assigning an alert and commenting on it (POST /api/alerts/{id}/assign, /comment). */
function AlertTriage({ alert, onDone }: { alert: Alert; onDone: () => void }) {
  const [assignee, setAssignee] = useState(alert.assignee ?? '');
  const [comment, setComment] = useState('');
  useEffect(() => setAssignee(alert.assignee ?? ''), [alert.assignee]);
  const send = async (what: 'assign' | 'comment', body: Record<string, string>, done: string) => {
    try {
      await post(`/api/alerts/${encodeURIComponent(alert.id)}/${what}`, body);
      toast(done, 'success');
      if (what === 'comment') setComment('');
      onDone();
    } catch (e) {
      toast(`Could not ${what}: ${(e as Error).message}`, 'error');
    }
  };
  return (
    <div class="alert-triage needs-write">
      <form onSubmit={(e) => { e.preventDefault(); send('assign', { assignee: assignee.trim() }, assignee.trim() ? `Alert assigned to ${assignee.trim()}` : 'Alert unassigned'); }}>
        <input aria-label="Assignee" placeholder="Assignee (empty: nobody)" value={assignee} onInput={(e) => setAssignee(e.currentTarget.value)} />
        <button class="btn small" type="submit">Assign</button>
      </form>
      <form onSubmit={(e) => { e.preventDefault(); if (comment.trim()) send('comment', { comment: comment.trim() }, 'Comment added'); }}>
        <input aria-label="Comment" placeholder="Add a comment" value={comment} maxLength={16384} onInput={(e) => setComment(e.currentTarget.value)} />
        <button class="btn small" type="submit" disabled={!comment.trim()}>Comment</button>
      </form>
    </div>
  );
}

/** One event of an alert: a line (time, host, summary) that opens to the whole event. */
function AlertEvent({ event, initiallyOpen }: { event: Record<string, any>; initiallyOpen: boolean }) {
  const [open, setOpen] = useState(initiallyOpen);
  const t = Date.parse(event.utctimestamp);
  return (
    <div class="alert-event">
      <button class="alert-event-line" aria-expanded={open} onClick={() => setOpen(!open)}>
        <span class={open ? 'jt-caret open' : 'jt-caret'}><Icon name="chevron" size={12} /></span>
        <span class="mono">{Number.isNaN(t) ? '' : formatTime(t)}</span>
        <span class="mono">{String(event.hostname ?? '')}</span>
        <span>{String(event.summary ?? '')}</span>
      </button>
      {open && <JsonTree value={event} />}
    </div>
  );
}

function Select({ label, value, options, onChange }: { label: string; value: string; options: string[]; onChange: (v: string) => void }) {
  return (
    <select aria-label={label} value={value} onChange={(e) => onChange(e.currentTarget.value)}>
      <option value="">{label}: any</option>
      {options.map((o) => <option key={o} value={o}>{o}</option>)}
    </select>
  );
}

/** Whether a new alert belongs in the list under the page's filters (a query: left to the
 *  server, at the next reload). */
function matchesFilters(a: Alert, f: Record<string, string>): boolean {
  if (f.q) return false;
  if (f.status && f.status !== (a.status ?? 'open')) return false;
  if (f.severity && f.severity.toUpperCase() !== String(a.severity).toUpperCase()) return false;
  if (f.category && f.category !== a.category) return false;
  if (f.rule && f.rule !== a.rule) return false;
  return true;
}

/** New alerts: over server-sent events while the stream works (`onNew` gets the alert), else
 *  by polling (`onNew(null)`). */
function useLiveAlerts(enabled: boolean, onNew: (a: Alert | null) => void, setLive: (s: 'stream' | 'polling' | 'off') => void) {
  const cb = useRef(onNew);
  cb.current = onNew;
  useEffect(() => {
    if (!enabled) {
      setLive('off');
      return;
    }
    let poll: ReturnType<typeof setInterval> | undefined;
    const startPolling = () => {
      if (poll) return;
      setLive('polling');
      poll = setInterval(() => document.visibilityState === 'visible' && cb.current(null), POLL_MS);
    };
    let es: EventSource | null = null;
    if (typeof EventSource !== 'undefined') {
      es = new EventSource('/api/alerts/stream');
      es.onopen = () => setLive('stream');
      es.addEventListener('alert', (e) => {
        let a: Alert | null = null;
        try {
          a = JSON.parse((e as MessageEvent).data) as Alert;
          toast(`New alert: ${a.summary}`, 'info');
        } catch {
          // The list is reloaded anyway.
        }
        cb.current(a);
      });
      es.onerror = () => {
        // A stream that cannot connect (missing, refused) is replaced by polling.
        if (es && es.readyState === EventSource.CLOSED) {
          es = null;
          startPolling();
        }
      };
    } else startPolling();
    return () => {
      es?.close();
      if (poll) clearInterval(poll);
    };
  }, [enabled]);
}
