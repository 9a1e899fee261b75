// Toasts: short notices in a corner (errors stay until dismissed, others fade).
import { useEffect, useState } from 'preact/hooks';

export type ToastKind = 'info' | 'success' | 'error';
interface Toast {
  id: number;
  kind: ToastKind;
  text: string;
}

let toasts: Toast[] = [];
let nextId = 1;
const listeners = new Set<(t: Toast[]) => void>();

function publish() {
  listeners.forEach((l) => l(toasts));
}

/** Shows a toast. */
export function toast(text: string, kind: ToastKind = 'info') {
  const id = nextId++;
  toasts = [...toasts.slice(-4), { id, kind, text }];
  publish();
  if (kind !== 'error') setTimeout(() => dismiss(id), 4000);
}

function dismiss(id: number) {
  toasts = toasts.filter((t) => t.id !== id);
  publish();
}

/** Where toasts appear. */
export function Toasts() {
  const [list, setList] = useState(toasts);
  useEffect(() => {
    listeners.add(setList);
    return () => {
      listeners.delete(setList);
    };
  }, []);
  return (
    <div class="toasts" role="status" aria-live="polite">
      {list.map((t) => (
        <div key={t.id} class={`toast toast-${t.kind}`}>
          <span>{t.text}</span>
          <button class="icon-btn" aria-label="Dismiss" onClick={() => dismiss(t.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
