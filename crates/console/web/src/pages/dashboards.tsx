// Dashboards: the overview an analyst keeps open, refreshed on a timer. Each panel is one
// aggregation, loaded on its own so a slow or failing panel does not hold the others.
import { ComponentChildren } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { AggResult, get } from '../api';
import { PALETTE, TimeChart, bucketsToSeries, compact } from '../components/chart';
import { TimePicker } from '../components/time-picker';
import { Icon } from '../components/icons';
import { addFilter } from '../query';
import { Location, navigate } from '../router';
import { DEFAULT_RANGE, TimeRange, pickInterval } from '../time';

const REFRESH = [
  { label: 'Off', ms: 0 },
  { label: '10s', ms: 10_000 },
  { label: '30s', ms: 30_000 },
  { label: '1m', ms: 60_000 },
  { label: '5m', ms: 300_000 },
];

export function DashboardsPage({ loc }: { loc: Location }) {
  const range: TimeRange = {
    from: loc.params.get('from') ?? DEFAULT_RANGE.from,
    to: loc.params.get('to') ?? DEFAULT_RANGE.to,
  };
  const refresh = loc.params.get('refresh') ?? '1m';
  const refreshMs = REFRESH.find((r) => r.label === refresh)?.ms ?? 0;
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!refreshMs) return;
    const t = setInterval(() => document.visibilityState === 'visible' && setTick((n) => n + 1), refreshMs);
    return () => clearInterval(t);
  }, [refreshMs]);
  const go = (r: TimeRange, rf = refresh) =>
    navigate('dashboards', { from: r.from, to: r.to, refresh: rf }, true);
  const [interval, bucketMs] = pickInterval(range, 60);
  const zoom = (a: number, b: number) => go({ from: new Date(a).toISOString(), to: new Date(b).toISOString() });
  const search = (q: string) => navigate('search', { q, from: range.from, to: range.to });
  const common = { range, tick };

  return (
    <div class="dash-page">
      <div class="toolbar">
        <h1 class="page-title">Overview</h1>
        <div class="spacer" />
        <TimePicker value={range} onChange={(r) => go(r)} />
        <label class="refresh-select">
          <select aria-label="Auto refresh" value={refresh} onChange={(e) => go(range, e.currentTarget.value)}>
            {REFRESH.map((r) => <option key={r.label} value={r.label}>{r.ms ? `every ${r.label}` : 'no refresh'}</option>)}
          </select>
        </label>
        <button class="icon-btn" title="Refresh now" aria-label="Refresh now" onClick={() => setTick((n) => n + 1)}>
          <Icon name="refresh" />
        </button>
      </div>
      <div class="dash-grid">
        <Panel title="Events over time by category" wide testid="panel-categories"
          params={{ interval, terms: 'category', size: 8 }} {...common}>
          {(r) => <StackedHistogram res={r} bucketMs={bucketMs} onZoom={zoom} />}
        </Panel>
        <Panel title="Top source IPs" testid="panel-sources" params={{ terms: 'details.sourceipaddress', size: 10 }} {...common}>
          {(r) => <TopList res={r} onPick={(k) => search(addFilter('', 'details.sourceipaddress', k))} />}
        </Panel>
        <Panel title="Top hosts" testid="panel-hosts" params={{ terms: 'hostname', size: 10 }} {...common}>
          {(r) => <TopList res={r} onPick={(k) => search(addFilter('', 'hostname', k))} />}
        </Panel>
        <Panel title="Alerts by severity" testid="panel-alerts" params={{ stream: 'alerts', terms: 'severity', size: 10 }}
          {...common} emptyText="No alerts in this range">
          {(r) => <TopList res={r} onPick={(k) => navigate('alerts', { severity: String(k) })} />}
        </Panel>
        <Panel title="Authentications: succeeded vs failed" wide testid="panel-auth"
          params={{ q: 'category:authentication', interval, terms: 'details.success', size: 5 }} {...common}>
          {(r) => <AuthChart res={r} bucketMs={bucketMs} onZoom={zoom} />}
        </Panel>
      </div>
    </div>
  );
}

function Panel({ title, params, range, tick, children, wide, testid, emptyText }: {
  title: string;
  params: Record<string, string | number>;
  range: TimeRange;
  tick: number;
  children: (r: AggResult) => ComponentChildren;
  wide?: boolean;
  testid: string;
  emptyText?: string;
}) {
  const [res, setRes] = useState<AggResult | null>(null);
  const [err, setErr] = useState('');
  const key = JSON.stringify(params);
  useEffect(() => {
    const ctl = new AbortController();
    get<AggResult>('/api/aggregate', { ...params, from: range.from, to: range.to }, ctl.signal)
      .then((r) => {
        setRes(r);
        setErr('');
      })
      .catch((e) => {
        if (e.name === 'AbortError') return;
        setErr(e.message);
      });
    return () => ctl.abort();
  }, [key, range.from, range.to, tick]);
  return (
    <section class={wide ? 'panel dash-panel wide' : 'panel dash-panel'} data-testid={testid}
      aria-busy={!res && !err}>
      <div class="panel-head">
        <h2>{title}</h2>
        {res && <span class="muted small">{res.total.toLocaleString()}</span>}
      </div>
      <div class="panel-body">
        {err ? <div class="error-text">{err}</div>
          : !res ? <div class="muted pad">Loading…</div>
          : res.total === 0 ? <div class="empty small">{emptyText ?? 'No events in this range'}</div>
          : children(res)}
      </div>
    </section>
  );
}

function StackedHistogram({ res, bucketMs, onZoom }: { res: AggResult; bucketMs: number; onZoom: (a: number, b: number) => void }) {
  const c = useMemo(() => bucketsToSeries(res.histogram ?? [], true), [res]);
  return <TimeChart x={c.x} series={c.series} stacked bucketMs={bucketMs} height={200} onZoom={onZoom} />;
}

/** What a value of `details.success` means: the store counts booleans as 1 and 0. */
function outcome(key: unknown): 'succeeded' | 'failed' | null {
  const k = String(key).toLowerCase();
  if (k === 'true' || k === '1') return 'succeeded';
  if (k === 'false' || k === '0') return 'failed';
  return null;
}

function AuthChart({ res, bucketMs, onZoom }: { res: AggResult; bucketMs: number; onZoom: (a: number, b: number) => void }) {
  const c = useMemo(() => {
    const s = bucketsToSeries(res.histogram ?? [], true);
    // Successes green, failures red, whatever else grey.
    for (const se of s.series) {
      const o = se.label === 'other' ? null : outcome(se.label);
      se.label = o ?? (se.label === 'other' ? 'unknown' : se.label);
      se.color = o === 'succeeded' ? '#22c55e' : o === 'failed' ? '#ef4444' : '#6b7280';
    }
    return s;
  }, [res]);
  const count = (o: string) => (res.terms ?? []).filter((t) => outcome(t.key) === o).reduce((a, t) => a + t.count, 0);
  return (
    <div>
      <div class="stat-row">
        <div class="stat"><span class="stat-value ok">{compact(count('succeeded'))}</span><span class="muted small">succeeded</span></div>
        <div class="stat"><span class="stat-value bad">{compact(count('failed'))}</span><span class="muted small">failed</span></div>
      </div>
      <TimeChart x={c.x} series={c.series} stacked bucketMs={bucketMs} height={140} onZoom={onZoom} />
    </div>
  );
}

function TopList({ res, onPick }: { res: AggResult; onPick: (key: unknown) => void }) {
  const terms = res.terms ?? [];
  if (!terms.length) return <div class="empty small">No values</div>;
  const max = Math.max(...terms.map((t) => t.count));
  return (
    <table class="top-list">
      <tbody>
        {terms.map((t, i) => (
          <tr key={String(t.key)}>
            <td class="tl-key">
              <button class="link mono" onClick={() => onPick(t.key)} title="Search for it">{String(t.key)}</button>
              <div class="tl-bar">
                <div style={{ width: `${(100 * t.count) / max}%`, background: PALETTE[i % PALETTE.length] }} />
              </div>
            </td>
            <td class="tl-count">{t.count.toLocaleString()}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
