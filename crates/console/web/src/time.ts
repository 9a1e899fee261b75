// Time ranges: relative (`now-15m` .. `now`) as the API takes them, or absolute instants.

export interface TimeRange {
  /** `now-15m`, or an RFC 3339 instant. */
  from: string;
  /** `now`, or an RFC 3339 instant. */
  to: string;
}

export const QUICK_RANGES: { label: string; from: string }[] = [
  { label: 'Last 15 minutes', from: 'now-15m' },
  { label: 'Last 1 hour', from: 'now-1h' },
  { label: 'Last 4 hours', from: 'now-4h' },
  { label: 'Last 24 hours', from: 'now-24h' },
  { label: 'Last 7 days', from: 'now-7d' },
  { label: 'Last 30 days', from: 'now-30d' },
];

export const DEFAULT_RANGE: TimeRange = { from: 'now-24h', to: 'now' };

const UNIT_MS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
  M: 30 * 86_400_000,
  y: 365 * 86_400_000,
};

/** Milliseconds since the epoch of `now`, `now-15m`, or an RFC 3339 time; null if unreadable. */
export function resolveTime(s: string, now = Date.now()): number | null {
  const m = /^now(?:([+-])(\d+)([smhdwMy]))?(?:\/[smhdwMy])?$/.exec(s.trim());
  if (m) {
    if (!m[1]) return now;
    const d = Number(m[2]) * UNIT_MS[m[3]];
    return m[1] === '-' ? now - d : now + d;
  }
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : t;
}

/** The label of a range: "Last 24 hours" or "2026-01-02 10:00 → 2026-01-02 11:00". */
export function rangeLabel(r: TimeRange): string {
  if (r.to === 'now') {
    const q = QUICK_RANGES.find((q) => q.from === r.from);
    if (q) return q.label;
    const m = /^now-(\d+)([smhdwMy])$/.exec(r.from);
    if (m) {
      const names: Record<string, string> = {
        s: 'second', m: 'minute', h: 'hour', d: 'day', w: 'week', M: 'month', y: 'year',
      };
      return `Last ${m[1]} ${names[m[2]]}${m[1] === '1' ? '' : 's'}`;
    }
  }
  return `${fmtShort(r.from)} → ${fmtShort(r.to)}`;
}

function fmtShort(s: string): string {
  if (s.startsWith('now')) return s;
  const t = Date.parse(s);
  return Number.isNaN(t) ? s : formatTime(t, false);
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** `2026-01-02 10:00:05(.123)` in UTC: analysts compare times across sites. */
export function formatTime(ms: number, millis = true): string {
  const d = new Date(ms);
  const s = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(
    d.getUTCHours(),
  )}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  return millis ? `${s}.${pad(d.getUTCMilliseconds(), 3)}` : s;
}

/** The value of an `<input type="datetime-local">` (UTC) for an instant. */
export function toLocalInput(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(
    d.getUTCHours(),
  )}:${pad(d.getUTCMinutes())}`;
}

/** RFC 3339 of an `<input type="datetime-local">` value read as UTC. */
export function fromLocalInput(v: string): string | null {
  const t = Date.parse(v + ':00Z');
  return Number.isNaN(t) ? null : new Date(t).toISOString();
}

/** Histogram intervals the API accepts (`ms s m h d`), small to large. */
const INTERVALS: [string, number][] = [
  ['1s', 1000], ['5s', 5000], ['10s', 10_000], ['30s', 30_000],
  ['1m', 60_000], ['5m', 300_000], ['10m', 600_000], ['30m', 1_800_000],
  ['1h', 3_600_000], ['3h', 10_800_000], ['6h', 21_600_000], ['12h', 43_200_000],
  ['1d', 86_400_000], ['7d', 604_800_000], ['30d', 2_592_000_000],
];

/** The interval giving at most about `buckets` bars over the range. */
export function pickInterval(r: TimeRange, buckets = 80, now = Date.now()): [string, number] {
  const from = resolveTime(r.from, now) ?? now - 86_400_000;
  const to = resolveTime(r.to, now) ?? now;
  const span = Math.max(1000, to - from);
  for (const iv of INTERVALS) if (span / iv[1] <= buckets) return iv;
  return INTERVALS[INTERVALS.length - 1];
}
