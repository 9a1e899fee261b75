// The time range picker: quick relative ranges, or absolute instants (UTC), or any expression
// the API reads (`now-90m`, RFC 3339).
import { useEffect, useRef, useState } from 'preact/hooks';
import { Icon } from './icons';
import {
  QUICK_RANGES, TimeRange, fromLocalInput, rangeLabel, resolveTime, toLocalInput,
} from '../time';

export function TimePicker({ value, onChange }: { value: TimeRange; onChange: (r: TimeRange) => void }) {
  const [open, setOpen] = useState(false);
  const root = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const close = (e: MouseEvent) => {
      if (root.current && !root.current.contains(e.target as Node)) setOpen(false);
    };
    const esc = (e: KeyboardEvent) => e.key === 'Escape' && setOpen(false);
    document.addEventListener('mousedown', close);
    document.addEventListener('keydown', esc);
    return () => {
      document.removeEventListener('mousedown', close);
      document.removeEventListener('keydown', esc);
    };
  }, [open]);
  const pick = (r: TimeRange) => {
    setOpen(false);
    onChange(r);
  };
  return (
    <div class="time-picker" ref={root}>
      <button class="btn" aria-haspopup="dialog" aria-expanded={open} onClick={() => setOpen(!open)}
        data-testid="time-picker">
        <Icon name="clock" /> <span>{rangeLabel(value)}</span>
      </button>
      {open && <Panel value={value} onPick={pick} />}
    </div>
  );
}

function Panel({ value, onPick }: { value: TimeRange; onPick: (r: TimeRange) => void }) {
  const now = Date.now();
  const [from, setFrom] = useState(toLocalInput(resolveTime(value.from, now) ?? now - 86_400_000));
  const [to, setTo] = useState(toLocalInput(resolveTime(value.to, now) ?? now));
  const [expr, setExpr] = useState(value.from);
  const [err, setErr] = useState('');
  const applyAbsolute = (e: Event) => {
    e.preventDefault();
    const f = fromLocalInput(from);
    const t = fromLocalInput(to);
    if (!f || !t) return setErr('Enter both times.');
    if (Date.parse(f) >= Date.parse(t)) return setErr('The start must be before the end.');
    onPick({ from: f, to: t });
  };
  const applyExpr = (e: Event) => {
    e.preventDefault();
    if (resolveTime(expr) === null) return setErr(`Not a time: ${expr}`);
    onPick({ from: expr.trim(), to: 'now' });
  };
  return (
    <div class="popover time-panel" role="dialog" aria-label="Time range">
      <div class="tp-col">
        <div class="tp-title">Relative</div>
        <ul class="tp-quick">
          {QUICK_RANGES.map((q) => (
            <li key={q.from}>
              <button class={value.from === q.from && value.to === 'now' ? 'link active' : 'link'}
                onClick={() => onPick({ from: q.from, to: 'now' })}>
                {q.label}
              </button>
            </li>
          ))}
        </ul>
        <form onSubmit={applyExpr} class="tp-expr">
          <label>
            From <input value={expr} onInput={(e) => setExpr(e.currentTarget.value)} aria-label="Relative start"
              placeholder="now-90m" /> to now
          </label>
        </form>
      </div>
      <form class="tp-col" onSubmit={applyAbsolute}>
        <div class="tp-title">Absolute (UTC)</div>
        <label>
          From
          <input type="datetime-local" value={from} onInput={(e) => setFrom(e.currentTarget.value)}
            aria-label="Absolute start" />
        </label>
        <label>
          To
          <input type="datetime-local" value={to} onInput={(e) => setTo(e.currentTarget.value)}
            aria-label="Absolute end" />
        </label>
        {err && <div class="error-text">{err}</div>}
        <button class="btn primary" type="submit">Apply</button>
      </form>
    </div>
  );
}
