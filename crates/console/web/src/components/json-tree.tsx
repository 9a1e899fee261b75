// An event as a collapsible JSON tree; each leaf can filter the search for or against it.
import { useState } from 'preact/hooks';
import { Icon } from './icons';

interface Props {
  value: unknown;
  /** Called with a field path and value to narrow (or exclude) the search. */
  onFilter?: (field: string, value: unknown, exclude: boolean) => void;
  /** Levels open at first (2: the event and its objects). */
  openDepth?: number;
}

export function JsonTree({ value, onFilter, openDepth = 2 }: Props) {
  return (
    <div class="json-tree" role="tree">
      <Node name={null} path="" value={value} depth={0} onFilter={onFilter} openDepth={openDepth} />
    </div>
  );
}

function Node({
  name, path, value, depth, onFilter, openDepth,
}: { name: string | null; path: string; value: unknown; depth: number; openDepth: number } & Pick<Props, 'onFilter'>) {
  const [open, setOpen] = useState(depth < openDepth);
  const isObj = value !== null && typeof value === 'object';
  if (!isObj) {
    return (
      <div class="jt-row" role="treeitem">
        {name !== null && <span class="jt-key">{name}: </span>}
        <Leaf value={value} />
        {onFilter && path && (
          <span class="jt-actions">
            <button class="icon-btn" title={`Filter for ${path}`} aria-label={`Filter for ${path}`}
              onClick={() => onFilter(path, value, false)}>
              <Icon name="plus" size={12} />
            </button>
            <button class="icon-btn" title={`Filter out ${path}`} aria-label={`Filter out ${path}`}
              onClick={() => onFilter(path, value, true)}>
              <Icon name="minus" size={12} />
            </button>
          </span>
        )}
      </div>
    );
  }
  const entries = Array.isArray(value)
    ? value.map((v, i) => [String(i), v] as const)
    : Object.entries(value as Record<string, unknown>);
  const [l, r] = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
  // Array elements filter on the array's own field (`tags:foo`).
  const childPath = (k: string) => (Array.isArray(value) ? path : path ? `${path}.${k}` : k);
  return (
    <div class="jt-node" role="treeitem" aria-expanded={open}>
      <button class="jt-toggle" onClick={() => setOpen(!open)}>
        <span class={open ? 'jt-caret open' : 'jt-caret'}>
          <Icon name="chevron" size={12} />
        </span>
        {name !== null && <span class="jt-key">{name}: </span>}
        <span class="jt-brace">{l}</span>
        {!open && <span class="jt-summary"> {entries.length} {Array.isArray(value) ? 'items' : 'fields'} </span>}
        {!open && <span class="jt-brace">{r}</span>}
      </button>
      {open && (
        <div class="jt-children" role="group">
          {entries.map(([k, v]) => (
            <Node key={k} name={k} path={childPath(k)} value={v} depth={depth + 1} onFilter={onFilter}
              openDepth={openDepth} />
          ))}
          <span class="jt-brace">{r}</span>
        </div>
      )}
    </div>
  );
}

function Leaf({ value }: { value: unknown }) {
  if (value === null) return <span class="jt-null">null</span>;
  switch (typeof value) {
    case 'string':
      return <span class="jt-str">"{value}"</span>;
    case 'number':
      return <span class="jt-num">{String(value)}</span>;
    case 'boolean':
      return <span class="jt-bool">{String(value)}</span>;
    default:
      return <span>{String(value)}</span>;
  }
}
