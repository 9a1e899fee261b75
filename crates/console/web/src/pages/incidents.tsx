// Incidents (docs/incidents.md): the list (`/ui/incidents?status=&tag=&q=`: GET /api/incidents
// with its counts per status) and an incident's page (`/ui/incidents/<id>`: GET
// /api/incidents/{id}): its timeline (the linked alerts and every change, who and when), notes,
// the status buttons of its lifecycle, its VERIS tags (picked from GET /api/incidents/veris),
// its linked alerts (each opens in the Alerts page), assignee and edits.
import type { ComponentChildren } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, api, get, post } from '../api';
import { Icon } from '../components/icons';
import { toast } from '../components/toast';
import { Location, navigate } from '../router';
import { formatTime } from '../time';
import { Severity } from './search';

export type IncidentStatus = 'open' | 'investigating' | 'contained' | 'closed';
export const INCIDENT_STATUSES: IncidentStatus[] = ['open', 'investigating', 'contained', 'closed'];

/** An alert as an incident keeps it. */
export interface AlertRef {
  id: string;
  utctimestamp: string;
  severity: string;
  summary: string;
  category?: string;
  rule?: string;
  key?: string;
  count?: number;
  linked_at?: string;
  linked_by?: string;
  /** Its triage status now. */
  status?: string;
}

/** An incident, as `GET /api/incidents/{id}` answers it (listed: `alert_count` for `alerts`). */
export interface Incident {
  id: string;
  title: string;
  summary: string;
  severity: string;
  status: IncidentStatus;
  assignee: string | null;
  tags: string[];
  alerts?: AlertRef[];
  alert_count?: number;
  notes: number;
  created: string;
  created_by: string;
  updated: string;
  updated_by: string;
  contained_at: string | null;
  closed_at: string | null;
}

/** One item of a timeline: a record (`created`, `note`, `status`…) or a linked alert. */
interface TimelineItem {
  kind: string;
  utctimestamp: string;
  seq?: number;
  user?: string;
  // created / edited
  title?: string;
  summary?: string;
  severity?: string;
  // note
  text?: string;
  // status
  from?: IncidentStatus;
  to?: IncidentStatus;
  note?: string;
  // tags
  added?: string[];
  removed?: string[];
  tags?: string[];
  // alerts_linked / alerts_unlinked / created: AlertRef[]; alert: one
  alerts?: AlertRef[];
  alert?: AlertRef;
  // assigned
  assignee?: string | null;
  previous?: string | null;
}

const STATUS_LABEL: Record<IncidentStatus, string> = {
  open: 'Open',
  investigating: 'Investigating',
  contained: 'Contained',
  closed: 'Closed',
};
/** The button moving an incident to a status. */
const STATUS_ACTION: Record<IncidentStatus, string> = {
  open: 'Open',
  investigating: 'Investigate',
  contained: 'Mark contained',
  closed: 'Close…',
};
/** The usual next step of each status: its button stands out. */
const NATURAL_NEXT: Record<IncidentStatus, IncidentStatus> = {
  open: 'investigating',
  investigating: 'contained',
  contained: 'closed',
  closed: 'investigating',
};
const SEVERITIES = ['INFO', 'NOTICE', 'WARNING', 'ERROR', 'CRITICAL', 'ALERT', 'EMERGENCY'];
const when = (t: string | null | undefined) => (t ? formatTime(Date.parse(t), false) : '—');
const incidentHref = (id: string) => `/ui/incidents/${encodeURIComponent(id)}`;
export const openIncident = (id: string) => navigate(`incidents/${encodeURIComponent(id)}`);
const alertHref = (id: string) => `/ui/alerts?q=${encodeURIComponent(`id:${id}`)}`;
const openAlert = (id: string) => navigate('alerts', { q: `id:${id}` });

export function StatusPill({ status }: { status: string }) {
  return <span class={`status status-${status}`}>{status}</span>;
}

/** A VERIS tag as a chip: its path muted, its value plain (`action.hacking.variety · Brute force`). */
export function TagChip({ tag, onRemove }: { tag: string; onRemove?: () => void }) {
  const [path, value] = splitTag(tag);
  return (
    <span class="tag-chip" title={tag}>
      {path && <span class="tag-path">{path}</span>}
      <span class="tag-value">{value}</span>
      {onRemove && (
        <button class="tag-remove" aria-label={`Remove tag ${tag}`} onClick={onRemove}>×</button>
      )}
    </span>
  );
}

/** `action.hacking.variety.Brute force` → [`action.hacking.variety`, `Brute force`];
 *  a category (`actor.external`) → [``, `actor.external`]. */
function splitTag(tag: string): [string, string] {
  const parts = tag.split('.');
  // Categories have two parts; enumerated values at least four (path of three or more).
  if (parts.length <= 2) return ['', tag];
  const i = tag.lastIndexOf('.');
  return [tag.slice(0, i), tag.slice(i + 1)];
}

// ---- the list ----

const FILTERS = ['status', 'q', 'tag', 'assignee'] as const;

export function IncidentsPage({ loc, id }: { loc: Location; id?: string }) {
  if (id) return <IncidentPage id={id} />;
  return <IncidentList loc={loc} />;
}

function IncidentList({ loc }: { loc: Location }) {
  const f = Object.fromEntries(FILTERS.map((k) => [k, loc.params.get(k) ?? ''])) as Record<(typeof FILTERS)[number], string>;
  const setFilter = (k: string, v: string) => navigate('incidents', { ...f, [k]: v }, true);
  const [data, setData] = useState<{ total: number; counts: Record<string, number>; incidents: Incident[] } | null>(null);
  const [err, setErr] = useState('');
  const [missing, setMissing] = useState(false);
  const [qText, setQText] = useState(f.q);
  const [tagText, setTagText] = useState(f.tag);
  const [creating, setCreating] = useState(false);
  const veris = useVeris();
  useEffect(() => setQText(f.q), [f.q]);
  useEffect(() => setTagText(f.tag), [f.tag]);
  const key = FILTERS.map((k) => f[k]).join('\u0000');
  useEffect(() => {
    const ctl = new AbortController();
    setErr('');
    get('/api/incidents', { ...f, size: 200 }, ctl.signal)
      .then((r) => setData(r))
      .catch((e) => {
        if (e.name === 'AbortError') return;
        if (e instanceof ApiError && e.status === 404) setMissing(true);
        else setErr(e.message);
      });
    return () => ctl.abort();
  }, [key]);
  const all = data ? Object.values(data.counts ?? {}).reduce((a, b) => a + b, 0) : 0;
  return (
    <div class="incidents-page">
      <div class="toolbar">
        <h1 class="page-title">Incidents</h1>
        <div class="tabs" role="tablist" aria-label="Status">
          <button role="tab" aria-selected={!f.status} class={!f.status ? 'tab active' : 'tab'} onClick={() => setFilter('status', '')}>
            All <span class="tab-count">{all}</span>
          </button>
          {INCIDENT_STATUSES.map((s) => (
            <button key={s} role="tab" aria-selected={f.status === s} class={f.status === s ? 'tab active' : 'tab'}
              onClick={() => setFilter('status', s)}>
              {STATUS_LABEL[s]} <span class="tab-count">{data?.counts?.[s] ?? 0}</span>
            </button>
          ))}
        </div>
        <form class="alert-filters" onSubmit={(e) => { e.preventDefault(); navigate('incidents', { ...f, q: qText.trim(), tag: tagText.trim() }, true); }}>
          <input data-query-input aria-label="Filter incidents" placeholder="Find in titles, notes, alerts…" value={qText}
            onInput={(e) => setQText(e.currentTarget.value)} />
          <input aria-label="Tag filter" class="tag-filter" placeholder="VERIS tag or category" list="veris-filter-tags" value={tagText}
            onInput={(e) => setTagText(e.currentTarget.value)}
            onChange={(e) => setFilter('tag', e.currentTarget.value.trim())} />
          <datalist id="veris-filter-tags">
            {veris && [...veris.categories, ...veris.tags.map((t) => t.tag)].map((t) => <option key={t} value={t} />)}
          </datalist>
          <button type="submit" class="btn">Filter</button>
        </form>
        <div class="spacer" />
        <button class="btn primary" onClick={() => setCreating(!creating)} aria-expanded={creating}>
          <Icon name="plus" size={14} /> New incident
        </button>
      </div>
      {creating && <NewIncident onClose={() => setCreating(false)} />}
      {missing && <div class="panel empty">Incidents are not available yet on this server.</div>}
      {err && <div class="error-box" role="alert">{err}</div>}
      {!data && !err && !missing && <div class="panel empty">Loading…</div>}
      {data && (
        <div class="panel table-panel">
          <div class="panel-head"><span><strong>{data.total.toLocaleString()}</strong> incident{data.total === 1 ? '' : 's'}</span></div>
          {!data.incidents.length ? (
            <div class="empty">{FILTERS.some((k) => f[k]) ? 'No incident matches.' : 'No incidents yet. Create one here or from an alert.'}</div>
          ) : (
            <table class="events" data-testid="incidents">
              <thead>
                <tr>
                  <th>ID</th><th>Severity</th><th>Status</th><th class="col-summary">Title</th><th>Tags</th>
                  <th class="num">Alerts</th><th class="num">Notes</th><th>Assignee</th><th class="col-time">Updated (UTC)</th>
                </tr>
              </thead>
              <tbody>
                {data.incidents.map((i) => (
                  <tr key={i.id} class="event-row" tabIndex={0} data-incident-id={i.id}
                    onClick={() => openIncident(i.id)}
                    onKeyDown={(e) => e.key === 'Enter' && openIncident(i.id)}>
                    <td class="mono nowrap"><a href={incidentHref(i.id)} onClick={(e) => e.preventDefault()}>{i.id}</a></td>
                    <td><Severity value={i.severity} /></td>
                    <td><StatusPill status={i.status} /></td>
                    <td class="col-summary">{i.title}</td>
                    <td class="tags-cell">
                      {i.tags.slice(0, 2).map((t) => <TagChip key={t} tag={t} />)}
                      {i.tags.length > 2 && <span class="muted small">+{i.tags.length - 2}</span>}
                    </td>
                    <td class="num">{i.alert_count ?? i.alerts?.length ?? 0}</td>
                    <td class="num">{i.notes}</td>
                    <td>{i.assignee ?? ''}</td>
                    <td class="col-time mono">{when(i.updated)}</td>
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

/** The form of "New incident": title, severity, summary. */
function NewIncident({ onClose }: { onClose: () => void }) {
  const [title, setTitle] = useState('');
  const [severity, setSeverity] = useState('WARNING');
  const [summary, setSummary] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      const r = await post<{ incident: Incident }>('/api/incidents', { title, severity, summary });
      toast(`${r.incident.id} created`, 'success');
      openIncident(r.incident.id);
    } catch (x) {
      toast(`Could not create the incident: ${(x as Error).message}`, 'error');
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="panel incident-form" aria-label="New incident" onSubmit={submit} onKeyDown={(e) => e.key === 'Escape' && onClose()}>
      <div class="form-row">
        <input aria-label="Title" placeholder="Title" value={title} required maxLength={200} class="grow"
          onInput={(e) => setTitle(e.currentTarget.value)} />
        <select aria-label="Severity" value={severity} onChange={(e) => setSeverity(e.currentTarget.value)}>
          {SEVERITIES.map((s) => <option key={s} value={s}>{s}</option>)}
        </select>
      </div>
      <textarea aria-label="Summary" placeholder="What is known so far (optional)" rows={3} maxLength={8192} value={summary}
        onInput={(e) => setSummary(e.currentTarget.value)} />
      <div class="form-actions">
        <button type="button" class="btn ghost" onClick={onClose}>Cancel</button>
        <button type="submit" class="btn primary" disabled={busy}>Create incident</button>
      </div>
    </form>
  );
}

// ---- one incident ----

interface Detail {
  incident: Incident;
  timeline: TimelineItem[];
  next: IncidentStatus[];
}

function IncidentPage({ id }: { id: string }) {
  const [data, setData] = useState<Detail | null>(null);
  const [err, setErr] = useState('');
  const [tick, setTick] = useState(0);
  const reload = () => setTick((n) => n + 1);
  useEffect(() => {
    const ctl = new AbortController();
    setErr('');
    get<Detail>(`/api/incidents/${encodeURIComponent(id)}`, {}, ctl.signal)
      .then(setData)
      .catch((e) => e.name !== 'AbortError' && setErr(e.message));
    return () => ctl.abort();
  }, [id, tick]);
  /** Sends a change; the page shows the answer. */
  const change = async (path: string, body: unknown, done: string, method = 'POST'): Promise<boolean> => {
    try {
      await api(method, `/api/incidents/${encodeURIComponent(id)}${path}`, { body });
      toast(done, 'success');
      reload();
      return true;
    } catch (e) {
      toast(`${id}: ${(e as Error).message}`, 'error');
      return false;
    }
  };
  const i = data?.incident;
  return (
    <div class="incident-page" data-testid="incident-page">
      <div class="toolbar incident-head">
        <a href="/ui/incidents" onClick={(e) => { e.preventDefault(); navigate('incidents'); }}>Incidents</a>
        <span class="muted">/</span>
        <span class="mono">{id}</span>
        {i && (
          <>
            <Severity value={i.severity} />
            <StatusPill status={i.status} />
            <h1 class="page-title incident-title" data-testid="incident-title">{i.title}</h1>
          </>
        )}
        <div class="spacer" />
        {i && data && <StatusButtons incident={i} next={data.next} change={change} />}
      </div>
      {err && <div class="error-box" role="alert">{err}</div>}
      {!data && !err && <div class="panel empty">Loading…</div>}
      {i && data && (
        <div class="incident-grid">
          <div class="incident-main">
            <SummaryPanel incident={i} change={change} />
            <div class="panel">
              <div class="panel-head"><h2>Timeline</h2><span class="muted small">{data.timeline.length} entries, oldest first (UTC)</span></div>
              <ol class="timeline" data-testid="timeline">
                {data.timeline.map((t, n) => <TimelineEntry key={t.seq ?? `a${n}`} item={t} />)}
              </ol>
              <NoteForm change={change} />
            </div>
          </div>
          <aside class="incident-side">
            <div class="panel">
              <dl class="facts" data-testid="incident-facts">
                <dt>Status</dt><dd><StatusPill status={i.status} /></dd>
                <dt>Severity</dt><dd><Severity value={i.severity} /></dd>
                <dt>Assignee</dt><dd><AssigneeField incident={i} change={change} /></dd>
                <dt>Created</dt><dd><span class="mono">{when(i.created)}</span> <span class="muted">by {i.created_by}</span></dd>
                <dt>Updated</dt><dd><span class="mono">{when(i.updated)}</span> <span class="muted">by {i.updated_by}</span></dd>
                {i.contained_at && <><dt>Contained</dt><dd class="mono">{when(i.contained_at)}</dd></>}
                {i.closed_at && <><dt>Closed</dt><dd class="mono">{when(i.closed_at)}</dd></>}
              </dl>
            </div>
            <TagsPanel incident={i} change={change} />
            <AlertsPanel incident={i} change={change} />
          </aside>
        </div>
      )}
    </div>
  );
}

type Change = (path: string, body: unknown, done: string, method?: string) => Promise<boolean>;

/** The buttons of the statuses the incident may move to; closing asks how it ended. */
function StatusButtons({ incident, next, change }: { incident: Incident; next: IncidentStatus[]; change: Change }) {
  const [closing, setClosing] = useState(false);
  const [note, setNote] = useState('');
  return (
    <div class="status-buttons needs-write">
      {next.map((s) => s === 'closed' ? (
        <button key={s} class={NATURAL_NEXT[incident.status] === 'closed' ? 'btn primary' : 'btn'} aria-expanded={closing}
          onClick={() => setClosing(!closing)}>{STATUS_ACTION[s]}</button>
      ) : (
        <button key={s} class={s === NATURAL_NEXT[incident.status] ? 'btn primary' : 'btn'}
          onClick={() => change('/status', { status: s }, `${incident.id} ${s}`)}>
          {incident.status === 'closed' ? 'Reopen' : STATUS_ACTION[s]}
        </button>
      ))}
      {closing && (
        <form class="popover close-form" aria-label={`Close ${incident.id}`}
          onKeyDown={(e) => e.key === 'Escape' && setClosing(false)}
          onSubmit={async (e) => {
            e.preventDefault();
            if (await change('/status', { status: 'closed', note }, `${incident.id} closed`)) {
              setClosing(false);
              setNote('');
            }
          }}>
          <label>
            How did it end?
            <textarea aria-label="Closing note" rows={3} required maxLength={16384} value={note}
              placeholder="Resolution, root cause, follow-ups…" onInput={(e) => setNote(e.currentTarget.value)} />
          </label>
          <div class="form-actions">
            <button type="button" class="btn ghost" onClick={() => setClosing(false)}>Cancel</button>
            <button type="submit" class="btn primary">Close incident</button>
          </div>
        </form>
      )}
    </div>
  );
}

/** The summary, and the form editing title, severity and summary. */
function SummaryPanel({ incident, change }: { incident: Incident; change: Change }) {
  const [editing, setEditing] = useState(false);
  const [title, setTitle] = useState(incident.title);
  const [severity, setSeverity] = useState(incident.severity);
  const [summary, setSummary] = useState(incident.summary);
  useEffect(() => {
    setTitle(incident.title);
    setSeverity(incident.severity);
    setSummary(incident.summary);
  }, [incident.updated]);
  return (
    <div class="panel">
      <div class="panel-head">
        <h2>Summary</h2>
        {!editing && <button class="btn small" onClick={() => setEditing(true)}>Edit</button>}
      </div>
      {!editing ? (
        <div class="incident-summary">{incident.summary || <span class="muted">No summary.</span>}</div>
      ) : (
        <form class="incident-form flat" aria-label="Edit incident" onSubmit={async (e) => {
          e.preventDefault();
          const body: Record<string, string> = {};
          if (title !== incident.title) body.title = title;
          if (severity !== incident.severity) body.severity = severity;
          if (summary !== incident.summary) body.summary = summary;
          if (!Object.keys(body).length) return setEditing(false);
          if (await change('', body, `${incident.id} edited`, 'PATCH')) setEditing(false);
        }}>
          <div class="form-row">
            <input aria-label="Title" class="grow" value={title} required maxLength={200} onInput={(e) => setTitle(e.currentTarget.value)} />
            <select aria-label="Severity" value={severity} onChange={(e) => setSeverity(e.currentTarget.value)}>
              {SEVERITIES.map((s) => <option key={s} value={s}>{s}</option>)}
            </select>
          </div>
          <textarea aria-label="Summary" rows={5} maxLength={8192} value={summary} onInput={(e) => setSummary(e.currentTarget.value)} />
          <div class="form-actions">
            <button type="button" class="btn ghost" onClick={() => setEditing(false)}>Cancel</button>
            <button type="submit" class="btn primary">Save</button>
          </div>
        </form>
      )}
    </div>
  );
}

const KIND_ICON: Record<string, string> = {
  alert: 'alerts',
  created: 'plus',
  note: 'note',
  status: 'flag',
  tags: 'tag',
  alerts_linked: 'link',
  alerts_unlinked: 'link',
  assigned: 'user',
  edited: 'edit',
};

/** One entry of the timeline. */
function TimelineEntry({ item: t }: { item: TimelineItem }) {
  const who = <strong>{t.user}</strong>;
  let what: ComponentChildren = null;
  let body: ComponentChildren = null;
  switch (t.kind) {
    case 'alert': {
      const a = t.alert as AlertRef;
      what = <>Alert fired <span class="muted small">· {a.rule}{a.key ? ` · ${a.key}` : ''}{a.count ? ` · ${a.count} events` : ''}</span></>;
      body = (
        <div class="tl-alert">
          <Severity value={a.severity} />{' '}
          <a href={alertHref(a.id)} onClick={(e) => { e.preventDefault(); openAlert(a.id); }}>{a.summary}</a>
        </div>
      );
      break;
    }
    case 'created':
      what = <>{who} created the incident{t.alerts?.length ? ` from ${t.alerts.length} alert${t.alerts.length === 1 ? '' : 's'}` : ''}</>;
      if (t.tags?.length) body = <div class="tl-tags">{t.tags.map((x) => <TagChip key={x} tag={x} />)}</div>;
      break;
    case 'note':
      what = <>{who} added a note</>;
      body = <div class="tl-note">{t.text}</div>;
      break;
    case 'status':
      what = <>{who} changed the status <StatusPill status={t.from ?? ''} /> → <StatusPill status={t.to ?? ''} /></>;
      if (t.note) body = <div class="tl-note">{t.note}</div>;
      break;
    case 'tags':
      what = <>{who} {t.added?.length ? 'tagged' : 'removed tags'}</>;
      body = (
        <div class="tl-tags">
          {(t.added ?? []).map((x) => <span key={`+${x}`} class="tl-added"><TagChip tag={x} /></span>)}
          {(t.removed ?? []).map((x) => <span key={`-${x}`} class="tl-removed"><TagChip tag={x} /></span>)}
        </div>
      );
      break;
    case 'alerts_linked':
    case 'alerts_unlinked':
      what = <>{who} {t.kind === 'alerts_linked' ? 'linked' : 'unlinked'} {t.alerts?.length ?? 0} alert{t.alerts?.length === 1 ? '' : 's'}</>;
      body = (
        <ul class="tl-alert-list">
          {(t.alerts ?? []).map((a) => (
            <li key={a.id}><Severity value={a.severity} />{' '}
              <a href={alertHref(a.id)} onClick={(e) => { e.preventDefault(); openAlert(a.id); }}>{a.summary}</a></li>
          ))}
        </ul>
      );
      break;
    case 'assigned':
      what = t.assignee
        ? <>{who} assigned it to <strong>{t.assignee}</strong>{t.previous ? <span class="muted"> (was {t.previous})</span> : null}</>
        : <>{who} unassigned it{t.previous ? <span class="muted"> (was {t.previous})</span> : null}</>;
      break;
    case 'edited': {
      const parts = [t.title !== undefined && 'title', t.severity !== undefined && 'severity', t.summary !== undefined && 'summary'].filter(Boolean);
      what = <>{who} edited the {parts.join(', ')}</>;
      body = (
        <div class="small">
          {t.title !== undefined && <div>Title: {t.title}</div>}
          {t.severity !== undefined && <div>Severity: <Severity value={t.severity} /></div>}
        </div>
      );
      break;
    }
    default:
      what = <>{who} {t.kind}</>;
  }
  return (
    <li class={`tl-item tl-k-${t.kind}`} data-kind={t.kind}>
      <span class="tl-icon"><Icon name={KIND_ICON[t.kind] ?? 'chevron'} size={13} /></span>
      <div class="tl-content">
        <div class="tl-line"><span class="tl-what">{what}</span><span class="tl-time mono">{formatTime(Date.parse(t.utctimestamp), false)}</span></div>
        {body}
      </div>
    </li>
  );
}

/** The note form under the timeline. */
function NoteForm({ change }: { change: Change }) {
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  return (
    <form class="note-form" aria-label="Add a note" onSubmit={async (e) => {
      e.preventDefault();
      if (!text.trim()) return;
      setBusy(true);
      if (await change('/notes', { text }, 'Note added')) setText('');
      setBusy(false);
    }}>
      <textarea aria-label="Note" placeholder="Add a note: findings, actions taken, next steps…" rows={3} maxLength={16384}
        value={text} onInput={(e) => setText(e.currentTarget.value)}
        onKeyDown={(e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) (e.currentTarget.form as HTMLFormElement)?.requestSubmit(); }} />
      <div class="form-actions">
        <span class="muted small">Ctrl+Enter to add</span>
        <button type="submit" class="btn primary" disabled={busy || !text.trim()}>Add note</button>
      </div>
    </form>
  );
}

function AssigneeField({ incident, change }: { incident: Incident; change: Change }) {
  const [editing, setEditing] = useState(false);
  const [v, setV] = useState(incident.assignee ?? '');
  useEffect(() => setV(incident.assignee ?? ''), [incident.assignee]);
  if (!editing) {
    return (
      <span class="assignee">
        {incident.assignee ?? <span class="muted">nobody</span>}{' '}
        <button class="link small" onClick={() => setEditing(true)}>change</button>
      </span>
    );
  }
  return (
    <form class="assign-form" onSubmit={async (e) => {
      e.preventDefault();
      const a = v.trim();
      if (await change('/assign', { assignee: a }, a ? `${incident.id} assigned to ${a}` : `${incident.id} unassigned`)) setEditing(false);
    }}>
      <input aria-label="Assignee" value={v} maxLength={128} placeholder="user (empty: nobody)" onInput={(e) => setV(e.currentTarget.value)} />
      <button class="btn small" type="submit">Assign</button>
    </form>
  );
}

// ---- VERIS tags ----

interface VerisFile {
  categories: Record<string, string>;
  enumerations: { path: string; values: { value: string; label?: string }[] }[];
}
interface Veris {
  categories: string[];
  tags: { tag: string; path: string; value: string; label: string }[];
}

let verisCache: Promise<Veris> | null = null;

/** The VERIS tags the server accepts (fetched once). */
function useVeris(): Veris | null {
  const [v, setV] = useState<Veris | null>(null);
  useEffect(() => {
    if (!verisCache) {
      verisCache = get<VerisFile>('/api/incidents/veris').then((f) => ({
        categories: Object.keys(f.categories),
        tags: [
          ...Object.entries(f.categories).map(([c, label]) => ({ tag: c, path: '', value: c, label })),
          ...f.enumerations.flatMap((e) => e.values.map((x) => ({ tag: `${e.path}.${x.value}`, path: e.path, value: x.value, label: x.label ?? '' }))),
        ],
      }));
      verisCache.catch(() => (verisCache = null));
    }
    let live = true;
    verisCache.then((x) => live && setV(x)).catch(() => {});
    return () => {
      live = false;
    };
  }, []);
  return v;
}

function TagsPanel({ incident, change }: { incident: Incident; change: Change }) {
  const [adding, setAdding] = useState(false);
  return (
    <div class="panel" data-testid="incident-tags">
      <div class="panel-head">
        <h2>VERIS tags</h2>
        <button class="btn small" aria-expanded={adding} onClick={() => setAdding(!adding)}>{adding ? 'Done' : 'Add tag'}</button>
      </div>
      <div class="tag-list">
        {incident.tags.length
          ? incident.tags.map((t) => <TagChip key={t} tag={t} onRemove={() => change('/tags', { remove: [t] }, `Tag removed`)} />)
          : <span class="muted small">No tags yet: classify the incident with VERIS (actor, action, asset, attribute).</span>}
      </div>
      {adding && <TagPicker have={incident.tags} onPick={(t) => change('/tags', { add: [t] }, `Tagged ${t}`)} />}
    </div>
  );
}

/** Search-as-you-type over the VERIS tags: words match paths, values and descriptions. */
function TagPicker({ have, onPick }: { have: string[]; onPick: (tag: string) => void }) {
  const veris = useVeris();
  const [q, setQ] = useState('');
  const [active, setActive] = useState(0);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  const found = useMemo(() => {
    if (!veris) return [];
    const words = q.toLowerCase().split(/\s+/).filter(Boolean);
    return veris.tags
      .filter((t) => !have.includes(t.tag))
      .filter((t) => words.every((w) => t.tag.toLowerCase().includes(w) || t.label.toLowerCase().includes(w)))
      .slice(0, 60);
  }, [veris, q, have.join('\n')]);
  useEffect(() => setActive(0), [q]);
  const pick = (tag: string) => {
    onPick(tag);
    setQ('');
    input.current?.focus();
  };
  return (
    <div class="tag-picker">
      <input ref={input} role="combobox" aria-label="Find a VERIS tag" aria-expanded={found.length > 0} aria-controls="veris-options"
        placeholder={veris ? 'Type to find a tag: brute, phishing, ransomware, external…' : 'Loading VERIS…'} value={q}
        onInput={(e) => setQ(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === 'ArrowDown') { e.preventDefault(); setActive(Math.min(active + 1, found.length - 1)); }
          else if (e.key === 'ArrowUp') { e.preventDefault(); setActive(Math.max(active - 1, 0)); }
          else if (e.key === 'Enter') { e.preventDefault(); if (found[active]) pick(found[active].tag); }
        }} />
      <ul class="tag-options" id="veris-options" role="listbox" aria-label="VERIS tags">
        {found.map((t, n) => (
          <li key={t.tag} role="option" aria-selected={n === active} class={n === active ? 'active' : ''} title={t.label || t.tag}
            onMouseDown={(e) => { e.preventDefault(); pick(t.tag); }} onMouseEnter={() => setActive(n)}>
            {t.path ? <><span class="tag-path">{t.path}</span> <span class="tag-value">{t.value}</span></> : <span class="tag-value">{t.tag}</span>}
            {t.label && <span class="tag-label muted small">{t.label}</span>}
          </li>
        ))}
        {veris && !found.length && <li class="muted small tag-none">No VERIS tag matches.</li>}
      </ul>
    </div>
  );
}

// ---- linked alerts ----

function AlertsPanel({ incident, change }: { incident: Incident; change: Change }) {
  const alerts = incident.alerts ?? [];
  const [linking, setLinking] = useState(false);
  const [ids, setIds] = useState('');
  return (
    <div class="panel" data-testid="incident-alerts">
      <div class="panel-head">
        <h2>Alerts <span class="muted">{alerts.length}</span></h2>
        <button class="btn small" aria-expanded={linking} onClick={() => setLinking(!linking)}>Link alert</button>
      </div>
      {linking && (
        <form class="assign-form pad" onSubmit={async (e) => {
          e.preventDefault();
          const list = ids.split(/[\s,]+/).filter(Boolean);
          if (list.length && (await change('/alerts', { link: list }, `${list.length} alert${list.length === 1 ? '' : 's'} linked`))) {
            setIds('');
            setLinking(false);
          }
        }}>
          <input aria-label="Alert ids" class="grow" placeholder="alert id(s)" value={ids} onInput={(e) => setIds(e.currentTarget.value)} />
          <button class="btn small" type="submit">Link</button>
        </form>
      )}
      {!alerts.length ? <div class="empty small">No linked alerts. Add them from the Alerts page.</div> : (
        <ul class="linked-alerts">
          {alerts.map((a) => (
            <li key={a.id} data-alert-id={a.id}>
              <div class="la-line">
                <Severity value={a.severity} />
                <a class="la-summary" href={alertHref(a.id)} onClick={(e) => { e.preventDefault(); openAlert(a.id); }}>{a.summary}</a>
                <button class="icon-btn" aria-label={`Unlink alert ${a.id}`} title="Unlink"
                  onClick={() => change('/alerts', { unlink: [a.id] }, 'Alert unlinked')}>×</button>
              </div>
              <div class="muted small la-meta">
                <span class="mono nowrap">{when(a.utctimestamp)}</span>
                {a.rule && <span>{a.rule}</span>}
                {a.status && <StatusPill status={a.status} />}
              </div>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

// ---- from the Alerts page ----

/** "Create incident" and "Add to incident" for an alert, and the incidents it is in. */
export function IncidentButtons({ alert }: { alert: { id: string; summary: string } }) {
  const [linked, setLinked] = useState<Incident[] | null>(null);
  const [adding, setAdding] = useState(false);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const ctl = new AbortController();
    get<{ incidents: Incident[] }>('/api/incidents', { alert: alert.id }, ctl.signal)
      .then((r) => setLinked(r?.incidents ?? []))
      .catch(() => setLinked([]));
    return () => ctl.abort();
  }, [alert.id, tick]);
  const create = async () => {
    try {
      const r = await post<{ incident: Incident }>('/api/incidents', { alerts: [alert.id] });
      toast(`${r.incident.id} created from the alert`, 'success');
      openIncident(r.incident.id);
    } catch (e) {
      toast(`Could not create an incident: ${(e as Error).message}`, 'error');
    }
  };
  return (
    <div class="incident-buttons">
      {linked?.map((i) => (
        <a key={i.id} class="incident-link" href={incidentHref(i.id)} onClick={(e) => { e.preventDefault(); openIncident(i.id); }}
          title={i.title}>
          <Icon name="incidents" size={13} /> {i.id} <StatusPill status={i.status} />
        </a>
      ))}
      <button class="btn needs-write" onClick={create}>Create incident</button>
      <button class="btn needs-write" aria-expanded={adding} onClick={() => setAdding(!adding)}>Add to incident</button>
      {adding && <AddToIncident alertId={alert.id} exclude={(linked ?? []).map((i) => i.id)}
        onClose={() => setAdding(false)} onDone={() => { setAdding(false); setTick((n) => n + 1); }} />}
    </div>
  );
}

/** Picks an incident not closed (most recently changed first) and links the alert to it. */
function AddToIncident({ alertId, exclude, onClose, onDone }: { alertId: string; exclude: string[]; onClose: () => void; onDone: () => void }) {
  const [list, setList] = useState<Incident[] | null>(null);
  const [pick, setPick] = useState('');
  useEffect(() => {
    get<{ incidents: Incident[] }>('/api/incidents', { status: 'open,investigating,contained', size: 100 })
      .then((r) => {
        const l = (r?.incidents ?? []).filter((i) => !exclude.includes(i.id));
        setList(l);
        setPick(l[0]?.id ?? '');
      })
      .catch((e) => toast(`Could not list incidents: ${e.message}`, 'error'));
  }, []);
  return (
    <form class="popover list-form" aria-label="Add to incident" onKeyDown={(e) => e.key === 'Escape' && onClose()}
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          await post(`/api/incidents/${encodeURIComponent(pick)}/alerts`, { link: [alertId] });
          toast(`Alert added to ${pick}`, 'success');
          onDone();
        } catch (x) {
          toast(`Could not add the alert to ${pick}: ${(x as Error).message}`, 'error');
        }
      }}>
      {!list ? <div class="muted small">Loading incidents…</div> : !list.length ? (
        <div class="muted small">No incident is open. Create one from this alert instead.</div>
      ) : (
        <label>
          Incident
          <select aria-label="Incident" value={pick} onChange={(e) => setPick(e.currentTarget.value)}>
            {list.map((i) => <option key={i.id} value={i.id}>{i.id} · {i.status} · {i.title.slice(0, 60)}</option>)}
          </select>
        </label>
      )}
      <div class="list-form-actions">
        <button type="button" class="btn ghost" onClick={onClose}>Cancel</button>
        <button type="submit" class="btn primary" disabled={!pick}>Add to {pick || 'incident'}</button>
      </div>
    </form>
  );
}

