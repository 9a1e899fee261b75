// Health: the service's state (GET /health: status and reasons, GET /status: version, uptime,
// stored events, memory) and its counters (GET /metrics, Prometheus text: events received,
// accepted and indexed per source, backlog, quarantine, commits, searchable lag, errors).
// Refreshed every 10 seconds while the tab is visible.
import { useEffect, useState } from 'preact/hooks';
import { get } from '../api';
import { compact } from '../components/chart';

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
  const [rates, setRates] = useState<Record<string, number>>({});
  const [err, setErr] = useState('');
  useEffect(() => {
    let prev: { at: number; indexed: Record<string, number> } | null = null;
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
        const indexed = Object.fromEntries(
          parsed.filter((x) => x.name === 'ferrodef_events_indexed_total').map((x) => [x.labels.source ?? '?', x.value]),
        );
        const now = Date.now();
        if (prev) {
          const secs = (now - prev.at) / 1000;
          const p = prev;
          setRates(Object.fromEntries(Object.entries(indexed).map(([k, v]) => [k, Math.max(0, (v - (p.indexed[k] ?? 0)) / secs)])));
        }
        prev = { at: now, indexed };
        setHealth(h);
        setStatus(s);
        setSamples(parsed);
        setErr('');
      } catch (e) {
        if ((e as Error).name !== 'AbortError') setErr((e as Error).message);
      }
    };
    load();
    const t = setInterval(load, REFRESH_MS);
    return () => {
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
            <Card label="Errors" testid="health-errors">
              {compact(one('ferrodef_indexer_errors_total') + one('ferrodef_log_errors_total'))}
              <div class="small muted">indexer + log; corrupt bytes {compact(one('ferrodef_log_corrupt_bytes_total'))}</div>
            </Card>
          </div>
          <div class="panel table-panel">
            <div class="panel-head"><span>Events per source</span></div>
            <table class="events" data-testid="health-sources">
              <thead>
                <tr><th>Source</th><th class="num">Received</th><th class="num">Accepted</th><th class="num">Indexed</th><th class="num">Indexed/s</th></tr>
              </thead>
              <tbody>
                {sources.map((src) => (
                  <tr key={src} data-source={src}>
                    <td class="mono">{src}</td>
                    <td class="num">{by('ferrodef_events_received_total', src).toLocaleString()}</td>
                    <td class="num">{by('ferrodef_events_accepted_total', src).toLocaleString()}</td>
                    <td class="num">{by('ferrodef_events_indexed_total', src).toLocaleString()}</td>
                    <td class="num">{rates[src] == null ? '…' : rates[src].toFixed(1)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
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
