// Time series charts drawn with uPlot (canvas; fast with thousands of points): bars for a
// histogram, optionally stacked; drag across to zoom, click a bar to zoom into it.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatTime } from '../time';

export interface Series {
  label: string;
  /** One value per x. */
  values: (number | null)[];
  color?: string;
}

export const PALETTE = [
  '#3b82f6', '#22c55e', '#f59e0b', '#ef4444', '#a855f7', '#14b8a6', '#ec4899', '#84cc16',
  '#f97316', '#64748b',
];

interface Props {
  /** Bucket starts, ms since the epoch. */
  x: number[];
  series: Series[];
  /** Bucket width in ms (for zooming into one bucket). */
  bucketMs: number;
  stacked?: boolean;
  height?: number;
  /** Called with a new range (ms) when the user drags across the chart or clicks a bar. */
  onZoom?: (fromMs: number, toMs: number) => void;
}

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

export function TimeChart({ x, series, bucketMs, stacked, height = 160, onZoom }: Props) {
  const el = useRef<HTMLDivElement>(null);
  const zoom = useRef(onZoom);
  zoom.current = onZoom;

  useEffect(() => {
    const root = el.current;
    if (!root) return;
    const axis = cssVar('--text-muted', '#8b949e');
    const grid = cssVar('--grid', 'rgba(128,128,128,0.15)');
    // Stacked: each series holds the running sum; drawn from the top down so the shorter
    // bars stay visible in front. The legend shows each series' own value.
    const raw = series.map((s) => s.values);
    let data: (number | null)[][] = raw;
    let order = series.map((_, i) => i);
    if (stacked) {
      const sums: number[][] = [];
      raw.forEach((vals, i) => sums.push(vals.map((v, j) => (v ?? 0) + (i ? sums[i - 1][j] : 0))));
      data = sums;
      order = order.reverse();
    }
    const bars = uPlot.paths.bars!({ size: [0.85, 64], align: 1 });
    const opts: uPlot.Options = {
      width: root.clientWidth || 600,
      height,
      padding: [8, 20, 0, 0],
      cursor: { drag: { x: true, y: false, setScale: false }, points: { show: false } },
      select: { show: true, left: 0, top: 0, width: 0, height: 0 },
      legend: { show: series.length > 1, live: true },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.05)] } },
      axes: [
        {
          stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, size: 28,
          values: (u, splits) => splits.map((s) => axisTime(s * 1000, (u.scales.x.max ?? 0) - (u.scales.x.min ?? 0))),
        },
        {
          stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { show: false }, size: 48,
          values: (_u, vals) => vals.map(compact),
        },
      ],
      series: [
        { value: (_u, v) => (v == null ? '' : formatTime(v * 1000, false)) },
        ...order.map((i) => ({
          label: series[i].label,
          stroke: series[i].color ?? PALETTE[i % PALETTE.length],
          fill: series[i].color ?? PALETTE[i % PALETTE.length],
          width: 0,
          paths: bars,
          points: { show: false },
          value: (_u: uPlot, _v: number | null, _s: number, idx: number | null) =>
            idx == null ? '' : String(raw[i][idx] ?? 0),
        })),
      ],
      hooks: {
        setSelect: [
          (u) => {
            if (u.select.width < 4) return;
            const a = u.posToVal(u.select.left, 'x') * 1000;
            const b = u.posToVal(u.select.left + u.select.width, 'x') * 1000;
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            zoom.current?.(Math.round(a), Math.round(b));
          },
        ],
        ready: [
          (u) => {
            // A click (no drag) on a bar zooms into its bucket.
            u.over.addEventListener('click', () => {
              const idx = u.cursor.idx;
              if (idx == null || u.select.width >= 4) return;
              zoom.current?.(x[idx], x[idx] + bucketMs);
            });
          },
        ],
      },
    };
    const plotData = [x.map((t) => t / 1000), ...order.map((i) => data[i])] as uPlot.AlignedData;
    const plot = new uPlot(opts, plotData, root);
    const ro = new ResizeObserver(() => {
      const w = root.clientWidth;
      if (w && w !== plot.width) plot.setSize({ width: w, height });
    });
    ro.observe(root);
    return () => {
      ro.disconnect();
      plot.destroy();
    };
  }, [x, series, stacked, height, bucketMs]);

  return <div class="chart" ref={el} data-testid="chart" />;
}

/** An x-axis label in UTC, as precise as the visible span needs. */
function axisTime(ms: number, spanSeconds: number): string {
  const t = formatTime(ms, false); // 2026-01-02 10:00:05
  if (spanSeconds <= 120) return t.slice(11, 19);
  if (spanSeconds <= 2 * 86_400) return t.slice(11, 16);
  if (spanSeconds <= 60 * 86_400) return `${t.slice(5, 10)} ${t.slice(11, 16)}`;
  return t.slice(0, 10);
}

/** 1234 → 1.2k, 2500000 → 2.5M. */
export function compact(n: number): string {
  if (n >= 1e9) return (n / 1e9).toFixed(n >= 1e10 ? 0 : 1) + 'G';
  if (n >= 1e6) return (n / 1e6).toFixed(n >= 1e7 ? 0 : 1) + 'M';
  if (n >= 1e3) return (n / 1e3).toFixed(n >= 1e4 ? 0 : 1) + 'k';
  return String(Math.round(n * 100) / 100);
}

/** Histogram buckets as chart columns: x and one series per top value (or the total). */
export function bucketsToSeries(
  buckets: { key_ms: number; count: number; terms?: { key: unknown; count: number }[] }[],
  byTerms: boolean,
  maxSeries = 8,
): { x: number[]; series: Series[] } {
  const x = buckets.map((b) => b.key_ms);
  if (!byTerms) return { x, series: [{ label: 'events', values: buckets.map((b) => b.count) }] };
  // The keys with the largest totals over the range; the rest is "other".
  const totals = new Map<string, number>();
  for (const b of buckets) for (const t of b.terms ?? []) {
    const k = String(t.key);
    totals.set(k, (totals.get(k) ?? 0) + t.count);
  }
  const keys = [...totals.entries()].sort((a, b) => b[1] - a[1]).slice(0, maxSeries).map((e) => e[0]);
  const series: Series[] = keys.map((k) => ({
    label: k,
    values: buckets.map((b) => b.terms?.find((t) => String(t.key) === k)?.count ?? 0),
  }));
  const other = buckets.map((b, j) => b.count - series.reduce((s, se) => s + (se.values[j] ?? 0), 0));
  if (other.some((v) => v > 0)) series.push({ label: 'other', values: other, color: '#6b7280' });
  return { x, series };
}
