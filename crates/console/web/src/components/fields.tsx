// The field sidebar: the fields of the events found; a field opens its top values (exact counts
// from /api/aggregate?terms=FIELD) with buttons to filter for or against each value.
import { useEffect, useState } from 'preact/hooks';
import { AggResult, get } from '../api';
import { TimeRange } from '../time';
import { Icon } from './icons';

interface Props {
  fields: string[];
  query: string;
  range: TimeRange;
  total: number;
  onFilter: (field: string, value: unknown, exclude: boolean) => void;
}

export function FieldSidebar({ fields, query, range, total, onFilter }: Props) {
  const [open, setOpen] = useState<string | null>(null);
  const [filter, setFilter] = useState('');
  const shown = fields.filter((f) => f.toLowerCase().includes(filter.toLowerCase()));
  return (
    <aside class="fields" aria-label="Fields">
      <input class="fields-filter" placeholder="Filter fields" aria-label="Filter fields" value={filter}
        onInput={(e) => setFilter(e.currentTarget.value)} />
      <ul>
        {shown.map((f) => (
          <li key={f}>
            <button class={open === f ? 'field-name open' : 'field-name'} aria-expanded={open === f}
              onClick={() => setOpen(open === f ? null : f)}>
              <span class="field-caret"><Icon name="chevron" size={10} /></span>
              {f}
            </button>
            {open === f && <TopValues field={f} query={query} range={range} total={total} onFilter={onFilter} />}
          </li>
        ))}
        {!shown.length && <li class="muted small pad">No fields</li>}
      </ul>
    </aside>
  );
}

function TopValues({ field, query, range, total, onFilter }: { field: string } & Omit<Props, 'fields'>) {
  const [res, setRes] = useState<AggResult | null>(null);
  const [err, setErr] = useState('');
  useEffect(() => {
    const ctl = new AbortController();
    setRes(null);
    setErr('');
    get<AggResult>('/api/aggregate', { q: query, from: range.from, to: range.to, terms: field, size: 10 }, ctl.signal)
      .then(setRes)
      .catch((e) => e.name !== 'AbortError' && setErr(e.message));
    return () => ctl.abort();
  }, [field, query, range.from, range.to]);
  if (err) return <div class="error-text small pad">{err}</div>;
  if (!res) return <div class="muted small pad">Loading…</div>;
  const terms = res.terms ?? [];
  if (!terms.length) return <div class="muted small pad">No values</div>;
  return (
    <ul class="top-values" data-testid={`top-values-${field}`}>
      {terms.map((t) => {
        const pct = total ? (100 * t.count) / total : 0;
        return (
          <li key={String(t.key)}>
            <div class="tv-line">
              <span class="tv-key" title={String(t.key)}>{String(t.key)}</span>
              <span class="tv-count">{t.count.toLocaleString()}</span>
              <button class="icon-btn" title="Filter for this value" aria-label={`Filter for ${field} ${t.key}`}
                onClick={() => onFilter(field, t.key, false)}><Icon name="plus" size={12} /></button>
              <button class="icon-btn" title="Filter out this value" aria-label={`Filter out ${field} ${t.key}`}
                onClick={() => onFilter(field, t.key, true)}><Icon name="minus" size={12} /></button>
            </div>
            <div class="tv-bar"><div style={{ width: `${Math.min(100, pct)}%` }} /></div>
          </li>
        );
      })}
    </ul>
  );
}
