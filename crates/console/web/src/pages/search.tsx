// Search: query, time range, histogram (drag or click to zoom), fields with top values, and the
// events, each expandable to its JSON. The query, range and sort live in the URL.
import { Fragment } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { AggResult, ApiError, SearchResult, get } from '../api';
import { TimeChart, bucketsToSeries } from '../components/chart';
import { FieldSidebar } from '../components/fields';
import { JsonTree } from '../components/json-tree';
import { QueryBar } from '../components/query-bar';
import { TimePicker } from '../components/time-picker';
import { Icon } from '../components/icons';
import { addFilter, fieldPaths } from '../query';
import { Location, navigate } from '../router';
import { DEFAULT_RANGE, TimeRange, formatTime, pickInterval } from '../time';

/** Fields listed first in the sidebar (MozDef's schema), then those of the events found. */
const COMMON_FIELDS = [
  'category', 'hostname', 'severity', 'source', 'processname', 'tags', 'summary',
  'details.sourceipaddress', 'details.destinationipaddress', 'details.username', 'details.success',
];
const PAGE_SIZE = 100;

export function SearchPage({ loc }: { loc: Location }) {
  const q = loc.params.get('q') ?? '';
  const range: TimeRange = {
    from: loc.params.get('from') ?? DEFAULT_RANGE.from,
    to: loc.params.get('to') ?? DEFAULT_RANGE.to,
  };
  const sort = loc.params.get('sort') === 'asc' ? 'asc' : 'desc';
  const [refresh, setRefresh] = useState(0);
  const go = (p: { q?: string; range?: TimeRange; sort?: string }) => {
    const r = p.range ?? range;
    navigate('search', {
      q: p.q ?? q,
      from: r.from === DEFAULT_RANGE.from && r.to === DEFAULT_RANGE.to ? undefined : r.from,
      to: r.from === DEFAULT_RANGE.from && r.to === DEFAULT_RANGE.to ? undefined : r.to,
      sort: (p.sort ?? sort) === 'asc' ? 'asc' : undefined,
    });
    setRefresh((n) => n + 1);
  };
  const filter = (field: string, value: unknown, exclude: boolean) => go({ q: addFilter(q, field, value, exclude) });

  const [result, setResult] = useState<SearchResult | null>(null);
  const [hist, setHist] = useState<AggResult | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [interval, bucketMs] = pickInterval(range);

  useEffect(() => {
    const ctl = new AbortController();
    const base = { q, from: range.from, to: range.to };
    setBusy(true);
    setError(null);
    const s = get<SearchResult>('/api/search', { ...base, size: PAGE_SIZE, sort: `utctimestamp:${sort}` }, ctl.signal);
    const h = get<AggResult>('/api/aggregate', { ...base, interval }, ctl.signal);
    Promise.all([s, h])
      .then(([sr, hr]) => {
        setResult(sr);
        setHist(hr);
      })
      .catch((e) => {
        if (e.name === 'AbortError') return;
        setError(e instanceof ApiError ? e : new ApiError(0, String(e)));
        setResult(null);
        setHist(null);
      })
      .finally(() => !ctl.signal.aborted && setBusy(false));
    return () => ctl.abort();
  }, [q, range.from, range.to, sort, interval, refresh]);

  const fields = useMemo(() => {
    const seen = new Set<string>();
    for (const h of result?.hits ?? []) fieldPaths(h, '', seen);
    const rest = [...seen].filter((f) => !COMMON_FIELDS.includes(f)).sort();
    return [...COMMON_FIELDS.filter((f) => seen.has(f) || !result), ...rest];
  }, [result]);

  const chart = useMemo(() => (hist?.histogram ? bucketsToSeries(hist.histogram, false) : null), [hist]);

  const zoom = (a: number, b: number) => go({ range: { from: new Date(a).toISOString(), to: new Date(b).toISOString() } });

  return (
    <div class="search-page">
      <div class="toolbar">
        <QueryBar value={q} onSubmit={(nq) => go({ q: nq })} error={error} busy={busy} />
        <TimePicker value={range} onChange={(r) => go({ range: r })} />
        <button class="icon-btn" title="Run again" aria-label="Refresh" onClick={() => setRefresh((n) => n + 1)}>
          <Icon name="refresh" />
        </button>
      </div>
      {error && error.parameter !== 'q' && error.position === undefined && (
        <div class="error-box" role="alert">{error.message}</div>
      )}
      <div class="search-body">
        <FieldSidebar fields={fields} query={q} range={range} total={result?.total ?? 0} onFilter={filter} />
        <section class="results">
          <div class="panel hist-panel">
            <div class="panel-head">
              <span data-testid="total">
                <strong>{result ? result.total.toLocaleString() : '—'}</strong> events
              </span>
              <span class="muted small">
                {result && `${result.took_ms.toFixed(1)} ms · `}per {interval} · drag to zoom
              </span>
            </div>
            {chart && chart.x.length > 0 ? (
              <TimeChart x={chart.x} series={chart.series} bucketMs={bucketMs} height={120} onZoom={zoom} />
            ) : (
              <div class="chart-empty">{busy ? 'Loading…' : error ? 'Fix the query or the range to search' : 'No events in this range'}</div>
            )}
          </div>
          {!error && <ResultTable result={result} sort={sort} onSort={(s) => go({ sort: s })} onFilter={filter} busy={busy} />}
        </section>
      </div>
    </div>
  );
}

function ResultTable({ result, sort, onSort, onFilter, busy }: {
  result: SearchResult | null;
  sort: string;
  onSort: (s: string) => void;
  onFilter: (field: string, value: unknown, exclude: boolean) => void;
  busy: boolean;
}) {
  const [open, setOpen] = useState<Set<number>>(new Set());
  useEffect(() => setOpen(new Set()), [result]);
  if (!result) return <div class="panel empty">{busy ? 'Searching…' : 'No results'}</div>;
  if (!result.hits.length) return <div class="panel empty">No events match this query in this time range.</div>;
  const toggle = (i: number) => {
    const n = new Set(open);
    if (n.has(i)) n.delete(i);
    else n.add(i);
    setOpen(n);
  };
  return (
    <div class="panel table-panel">
      <table class="events" data-testid="events">
        <thead>
          <tr>
            <th class="col-caret" />
            <th class="col-time">
              <button class="link" onClick={() => onSort(sort === 'asc' ? 'desc' : 'asc')}>
                Time (UTC) {sort === 'asc' ? '▲' : '▼'}
              </button>
            </th>
            <th>Severity</th>
            <th>Category</th>
            <th>Host</th>
            <th class="col-summary">Summary</th>
          </tr>
        </thead>
        <tbody>
          {result.hits.map((h, i) => (
            <Fragment key={i}>
              <tr class={open.has(i) ? 'event-row open' : 'event-row'} tabIndex={0} aria-expanded={open.has(i)}
                onClick={() => toggle(i)}
                onKeyDown={(e) => rowKey(e, () => toggle(i))}>
                <td class="col-caret"><span class="caret"><Icon name="chevron" size={12} /></span></td>
                <td class="col-time mono">{h.utctimestamp ? formatTime(Date.parse(h.utctimestamp)) : ''}</td>
                <td><Severity value={h.severity} /></td>
                <td>{h.category}</td>
                <td class="mono">{h.hostname}</td>
                <td class="col-summary">{h.summary}</td>
              </tr>
              {open.has(i) && (
                <tr class="event-detail">
                  <td colSpan={6}>
                    <JsonTree value={h} onFilter={onFilter} />
                  </td>
                </tr>
              )}
            </Fragment>
          ))}
        </tbody>
      </table>
      {result.total > result.hits.length && (
        <div class="muted small pad">
          Showing the {sort === 'asc' ? 'first' : 'latest'} {result.hits.length} of {result.total.toLocaleString()} events;
          narrow the query or the time range to see others.
        </div>
      )}
    </div>
  );
}

/** Keys on a focused row: Enter or Space opens it, j / k or the arrows move to the next one. */
export function rowKey(e: KeyboardEvent, toggle: () => void) {
  const row = e.currentTarget as HTMLElement;
  const step = (dir: 1 | -1) => {
    let r: Element | null = row;
    do r = dir > 0 ? r.nextElementSibling : r.previousElementSibling;
    while (r && !r.classList.contains('event-row'));
    (r as HTMLElement | null)?.focus();
  };
  if (e.key === 'Enter' || e.key === ' ') toggle();
  else if (e.key === 'j' || e.key === 'ArrowDown') step(1);
  else if (e.key === 'k' || e.key === 'ArrowUp') step(-1);
  else return;
  e.preventDefault();
}

/** A severity as a coloured tag. */
export function Severity({ value }: { value: unknown }) {
  const v = String(value ?? '').toUpperCase();
  if (!v) return null;
  return <span class={`sev sev-${v.toLowerCase()}`}>{v}</span>;
}
