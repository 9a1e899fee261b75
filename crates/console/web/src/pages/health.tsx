// Health: the service's state (GET /health: status and reasons; GET /status: version, uptime,
// stored events, storage per day and stream, rules evaluated and alerts by rule kind,
// deliveries per notifier, memory) and its counters (GET /metrics, Prometheus text: events
// received, accepted and indexed per source, backlog, quarantine, commits, searchable lag,
// errors). Rates (events/s in and indexed per source) are the difference between two
// samples: the first 2 seconds after opening, then every 10 seconds while the tab is visible.
import { useEffect, useState } from 'preact/hooks';
import { get } from '../api';
import { PALETTE, compact } from '../components/chart';

interface Health {
  status: string;
  reasons?: string[];
  backlog?: number;
  quarantined?: number;
}
interface Status {
  version: string;
  mozdefhostname: string;
  uptime_seconds: number;
  events_pending: number;
  events_stored: number;
  partitions: number;
  rss_bytes: number | null;
  peak_rss_bytes: number | null;
  storage_bytes: number;
  storage: PartitionStorage[];
  rules: { events_evaluated: number; alerts: Record<string, number> };
  notifications: NotifierCounts[];
}
interface PartitionStorage {
  stream: string;
  day: string;
  docs: number;
  bytes: number;
}
interface NotifierCounts {
  notifier: string;
  sent: number;
  failed: number;
  retried: number;
  dropped: number;
  pending: number;
}
/** One sample of the Prometheus text: name, labels, value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Reads Prometheus' text format (the lines ferrodef writes: `name{k="v",…} value`). */
export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const kv of (m[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[kv[1]] = kv[2];
    const value = Number(m[4]);
    if (!Number.isNaN(value)) out.push({ name: m[1], labels, value });
  }
  return out;
}

const REFRESH_MS = 10_000;
/** The second sample comes sooner, so the rates show without waiting a full period. */
const FIRST_RATE_MS = 2_000;

/** 1536 → "1.5 KiB". */
export function formatBytes(b: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = b;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

/** Per-source rates between two samples of counters (events per second, never negative). */
function ratesBetween(prev: Record<string, number>, now: Record<string, number>, secs: number): Record<string, number> {
  return Object.fromEntries(Object.entries(now).map(([k, v]) => [k, Math.max(0, (v - (prev[k] ?? 0)) / secs)]));
}

function bySource(samples: Sample[], name: string): Record<string, number> {
  return Object.fromEntries(samples.filter((x) => x.name === name).map((x) => [x.labels.source ?? '?', x.value]));
}

function fetchText(path: string, signal: AbortSignal): Promise<string> {
  return fetch(path, { credentials: 'same-origin', headers: { 'x-requested-with': 'ferrodef-console' }, signal }).then((r) => {
    if (!r.ok) throw new Error(`${path}: ${r.status} ${r.statusText}`);
    return r.text();
  });
}

export function HealthPage() {
  const [health, setHealth] = useState<Health | null>(null);
  const [status, setStatus] = useState<Status | null>(null);
  const [samples, setSamples] = useState<Sample[] | null>(null);
  const [rates, setRates] = useState<{ received: Record<string, number>; indexed: Record<string, number> } | null>(null);
  const [err, setErr] = useState('');
  useEffect(() => {
    let prev: { at: number; received: Record<string, number>; indexed: Record<string, number> } | null = null;
    let ctl = new AbortController();
    const load = async () => {
      if (document.visibilityState !== 'visible' && prev) return;
      ctl = new AbortController();
      try {
        const [h, s, m] = await Promise.all([
          get<Health>('/health', {}, ctl.signal),
          get<Status>('/status', {}, ctl.signal),
          fetchText('/metrics', ctl.signal),
        ]);
        const parsed = parseMetrics(m);
        const received = bySource(parsed, 'ferrodef_events_received_total');
        const indexed = bySource(parsed, 'ferrodef_events_indexed_total');
        const now = Date.now();
        if (prev) {
          const secs = (now - prev.at) / 1000;
          setRates({ received: ratesBetween(prev.received, received, secs), indexed: ratesBetween(prev.indexed, indexed, secs) });
        }
        prev = { at: now, received, indexed };
        setHealth(h);
        setStatus(s);
        setSamples(parsed);
        setErr('');
      } catch (e) {
        if ((e as Error).name !== 'AbortError') setErr((e as Error).message);
      }
    };
    load();
    const first = setTimeout(load, FIRST_RATE_MS);
    const t = setInterval(load, REFRESH_MS);
    return () => {
      clearTimeout(first);
      clearInterval(t);
      ctl.abort();
    };
  }, []);
  const metric = (name: string) => (samples ?? []).filter((s) => s.name === name);
  const one = (name: string) => metric(name).reduce((a, s) => a + s.value, 0);
  const sources = [...new Set([
    ...metric('ferrodef_events_received_total'),
    ...metric('ferrodef_events_accepted_total'),
    ...metric('ferrodef_events_indexed_total'),
  ].map((s) => s.labels.source ?? '?'))].sort();
  const by = (name: string, src: string) => metric(name).find((s) => (s.labels.source ?? '?') === src)?.value ?? 0;
  const lagCount = one('ferrodef_searchable_lag_seconds_count');
  const mib = (b: number | null | undefined) => (b == null ? '—' : `${(b / 1048576).toFixed(0)} MiB`);
  // A source absent from a counter (e.g. documents ferrodef writes itself are accepted, never received) has rate 0.
  const rate = (r: Record<string, number> | undefined, src: string) => (r == null ? '…' : (r[src] ?? 0).toFixed(1));
  const plural = (n: number, word: string) => `${n.toLocaleString()} ${word}${n === 1 ? '' : 's'}`;
  const alertKinds = Object.entries(status?.rules.alerts ?? {}).filter(([, n]) => n > 0);
  const alertsTotal = Object.values(status?.rules.alerts ?? {}).reduce((a, n) => a + n, 0);
  return (
    <div class="health-page">
      <div class="toolbar">
        <h1 class="page-title">Health</h1>
        <span class="muted small">refreshed every {REFRESH_MS / 1000} s</span>
      </div>
      {err && <div class="error-box" role="alert">{err}</div>}
      {health && status && samples && (
        <>
          <div class="health-grid" data-testid="health">
            <Card label="Status" testid="health-status">
              <span class={health.status === 'ok' ? 'health-ok' : 'health-bad'}>{health.status}</span>
              {health.reasons?.length ? <div class="small">{health.reasons.join('; ')}</div> : null}
            </Card>
            <Card label="Version" testid="health-version">{status.version}<div class="small muted">{status.mozdefhostname}</div></Card>
            <Card label="Uptime">{formatUptime(status.uptime_seconds)}</Card>
            <Card label="Events stored" testid="health-stored">{compact(status.events_stored)}<div class="small muted">{status.partitions} partitions</div></Card>
            <Card label="Backlog / pending" testid="health-backlog">{compact(health.backlog ?? 0)} / {compact(status.events_pending)}</Card>
            <Card label="Quarantined">{compact(health.quarantined ?? 0)}</Card>
            <Card label="Memory">{mib(status.rss_bytes)}<div class="small muted">peak {mib(status.peak_rss_bytes)}</div></Card>
            <Card label="Searchable lag (mean)">{lagCount ? `${((one('ferrodef_searchable_lag_seconds_sum') / lagCount) * 1000).toFixed(0)} ms` : '—'}</Card>
            <Card label="Store commits">{compact(one('ferrodef_store_commits_total'))}</Card>
            <Card label="Storage" testid="health-storage-total">{formatBytes(status.storage_bytes)}<div class="small muted">on disk, every partition</div></Card>
            <Card label="Rules evaluated" testid="health-rules">
              <span data-value={status.rules.events_evaluated}>{compact(status.rules.events_evaluated)}</span>
              <div class="small muted">
                events; {plural(alertsTotal, 'alert')}{alertKinds.length ? ` (${alertKinds.map(([k, n]) => `${k} ${n.toLocaleString()}`).join(', ')})` : ''}
              </div>
            </Card>
            <Card label="Notification failures" testid="health-notify-failed">
              <span class={status.notifications.some((n) => n.failed > 0) ? 'health-bad' : undefined}>
                {compact(status.notifications.reduce((a, n) => a + n.failed, 0))}
              </span>
              <div class="small muted">{status.notifications.length ? plural(status.notifications.length, 'notifier') : 'no notifier configured'}</div>
            </Card>
            <Card label="Errors" testid="health-errors">
              {compact(one('ferrodef_indexer_errors_total') + one('ferrodef_log_errors_total'))}
              <div class="small muted">indexer + log; corrupt bytes {compact(one('ferrodef_log_corrupt_bytes_total'))}</div>
            </Card>
          </div>
          <div class="panel table-panel">
            <div class="panel-head"><span>Events per source</span></div>
            <table class="events" data-testid="health-sources">
              <thead>
                <tr>
                  <th>Source</th><th class="num">Received</th><th class="num">Accepted</th><th class="num">Indexed</th>
                  <th class="num">In/s</th><th class="num">Indexed/s</th>
                </tr>
              </thead>
              <tbody>
                {sources.map((src) => (
                  <tr key={src} data-source={src}>
                    <td class="mono">{src}</td>
                    <td class="num">{by('ferrodef_events_received_total', src).toLocaleString()}</td>
                    <td class="num">{by('ferrodef_events_accepted_total', src).toLocaleString()}</td>
                    <td class="num">{by('ferrodef_events_indexed_total', src).toLocaleString()}</td>
                    <td class="num" data-rate="received">{rate(rates?.received, src)}</td>
                    <td class="num" data-rate="indexed">{rate(rates?.indexed, src)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <StorageTable parts={status.storage} />
          <NotifierTable notifiers={status.notifications} />
        </>
      )}
    </div>
  );
}

/** Bytes on disk per UTC day (rows) and stream (columns), with a bar per day stacked by stream. */
function StorageTable({ parts }: { parts: PartitionStorage[] }) {
  const streams = [...new Set(parts.map((p) => p.stream))].sort();
  const days = [...new Set(parts.map((p) => p.day))].sort().reverse();
  const cell = new Map(parts.map((p) => [`${p.day}/${p.stream}`, p]));
  const totals = new Map(days.map((d) => [d, parts.filter((p) => p.day === d).reduce((a, p) => a + p.bytes, 0)]));
  const max = Math.max(1, ...totals.values());
  const color = (s: string) => PALETTE[streams.indexOf(s) % PALETTE.length];
  return (
    <div class="panel table-panel">
      <div class="panel-head"><span>Storage per day</span><span class="small muted">on disk, newest {days.length === 1 ? 'day' : `${days.length} days`}</span></div>
      <table class="events" data-testid="health-storage">
        <thead>
          <tr>
            <th>Day (UTC)</th><th class="num">Events</th><th class="num">Total</th><th class="storage-bar-col" />
            {streams.map((s) => (
              <th key={s} class="num"><span class="legend-dot" style={{ background: color(s) }} />{s}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {days.map((d) => (
            <tr key={d} data-day={d}>
              <td class="mono">{`${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}`}</td>
              <td class="num">{parts.filter((p) => p.day === d).reduce((a, p) => a + p.docs, 0).toLocaleString()}</td>
              <td class="num" data-bytes={totals.get(d)}>{formatBytes(totals.get(d) ?? 0)}</td>
              <td class="storage-bar-col">
                <div class="storage-bar" title={`${(totals.get(d) ?? 0).toLocaleString()} bytes`}>
                  {streams.map((s) => {
                    const p = cell.get(`${d}/${s}`);
                    return p && p.bytes ? <div key={s} style={{ width: `${(100 * p.bytes) / max}%`, background: color(s) }} /> : null;
                  })}
                </div>
              </td>
              {streams.map((s) => {
                const p = cell.get(`${d}/${s}`);
                return (
                  <td key={s} class="num" data-stream={s} data-bytes={p?.bytes ?? 0} title={p ? `${p.docs.toLocaleString()} events, ${p.bytes.toLocaleString()} bytes` : undefined}>
                    {p ? formatBytes(p.bytes) : '—'}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Deliveries per notifier since ferrodef started. */
function NotifierTable({ notifiers }: { notifiers: NotifierCounts[] }) {
  return (
    <div class="panel table-panel">
      <div class="panel-head"><span>Notifications</span><span class="small muted">since start</span></div>
      {notifiers.length === 0 ? (
        <div class="small muted health-empty">No notifier is configured (docs/notifications.md).</div>
      ) : (
        <table class="events" data-testid="health-notifiers">
          <thead>
            <tr>
              <th>Notifier</th><th class="num">Sent</th><th class="num">Failed</th><th class="num">Retried</th>
              <th class="num">Dropped</th><th class="num">Pending</th>
            </tr>
          </thead>
          <tbody>
            {notifiers.map((n) => (
              <tr key={n.notifier} data-notifier={n.notifier}>
                <td class="mono">{n.notifier}</td>
                <td class="num">{n.sent.toLocaleString()}</td>
                <td class={n.failed > 0 ? 'num health-bad' : 'num'}>{n.failed.toLocaleString()}</td>
                <td class="num">{n.retried.toLocaleString()}</td>
                <td class={n.dropped > 0 ? 'num health-bad' : 'num'}>{n.dropped.toLocaleString()}</td>
                <td class="num">{n.pending.toLocaleString()}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function Card({ label, testid, children }: { label: string; testid?: string; children: preact.ComponentChildren }) {
  return (
    <div class="panel health-card" data-testid={testid}>
      <div class="small muted">{label}</div>
      <div class="stat-value">{children}</div>
    </div>
  );
}

function formatUptime(s: number): string {
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d ? `${d} d ${h} h` : h ? `${h} h ${m} min` : `${m} min ${s % 60} s`;
}
