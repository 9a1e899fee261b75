// The query box: the search language, with a syntax error shown under the place it names.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from '../api';
import { byteToCharIndex } from '../query';
import { Icon } from './icons';

interface Props {
  value: string;
  onSubmit: (q: string) => void;
  /** The error of the last run, if it was about the query. */
  error?: ApiError | null;
  busy?: boolean;
  placeholder?: string;
}

export function QueryBar({ value, onSubmit, error, busy, placeholder }: Props) {
  const [text, setText] = useState(value);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => setText(value), [value]);
  const submit = (e: Event) => {
    e.preventDefault();
    onSubmit(text.trim());
  };
  const queryError = error && (error.parameter === 'q' || error.position !== undefined) ? error : null;
  const at = queryError?.position !== undefined ? byteToCharIndex(value, queryError.position) : null;
  return (
    <form class="query-bar" onSubmit={submit} role="search">
      <div class={queryError ? 'query-input has-error' : 'query-input'}>
        <Icon name="search" />
        <input ref={input} data-query-input aria-label="Query" spellcheck={false} autocomplete="off"
          value={text} placeholder={placeholder ?? 'Search… e.g. category:authentication AND details.success:false'}
          aria-invalid={!!queryError} aria-describedby={queryError ? 'query-error' : undefined}
          onInput={(e) => setText(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === 'Escape') input.current?.blur();
          }} />
      </div>
      <SyntaxHelp />
      <button class="btn primary" type="submit" disabled={busy}>
        {busy ? 'Searching…' : 'Search'}
      </button>
      {queryError && (
        <div class="query-error" id="query-error" role="alert" data-testid="query-error">
          {at !== null && (
            <pre class="query-caret">
              {value.slice(0, at)}
              <mark>{value.slice(at, at + 1) || ' '}</mark>
              {value.slice(at + 1)}
              {'\n' + ' '.repeat(at)}^
            </pre>
          )}
          <div>{queryError.message}</div>
        </div>
      )}
    </form>
  );
}

/** The query language at a glance (docs/query-language.md has it all). */
const SYNTAX: [string, string][] = [
  ['failed', 'a word of the summary'],
  ['hostname:web-1', 'exact value of a field'],
  ['summary:"failed password"', 'a phrase'],
  ['a AND b, a OR b, NOT a, -a', 'boolean logic (adjacent terms are ANDed)'],
  ['hostname:web-*', 'wildcards * and ?'],
  ['hostname:/web-[0-9]+/', 'regular expression'],
  ['details.port:[1 TO 1024]', 'range ([ ] inclusive, { } exclusive)'],
  ['details.status:>=500', 'comparison'],
  ['details.sourceipaddress:10.0.0.0/8', 'CIDR on IP fields'],
  ['_exists_:details.username', 'the field has a value'],
  ['utctimestamp:>now-15m', 'relative time'],
];

function SyntaxHelp() {
  const [open, setOpen] = useState(false);
  return (
    <div class="syntax-help">
      <button type="button" class="icon-btn" aria-label="Query syntax" title="Query syntax" aria-expanded={open}
        onClick={() => setOpen(!open)} onBlur={() => setTimeout(() => setOpen(false), 150)}>?</button>
      {open && (
        <div class="popover syntax-panel" role="dialog" aria-label="Query syntax">
          <table>
            <tbody>
              {SYNTAX.map(([q, what]) => (
                <tr key={q}><td class="mono">{q}</td><td class="muted">{what}</td></tr>
              ))}
            </tbody>
          </table>
          <div class="muted small">Keys: / focuses the query, j / k move through events, Enter opens one.</div>
        </div>
      )}
    </div>
  );
}
