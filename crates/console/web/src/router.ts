// A small history router: pages live under /ui/<page>, their state (query, time range...) in
// the URL's query string so every view can be shared by copying the address.
import { useEffect, useState } from 'preact/hooks';

export interface Location {
  /** The page: the path under /ui/ (`search`, `dashboards`...). */
  page: string;
  params: URLSearchParams;
}

function current(): Location {
  const path = window.location.pathname.replace(/^\/ui\/?/, '').replace(/\/$/, '');
  return { page: path || 'search', params: new URLSearchParams(window.location.search) };
}

const listeners = new Set<() => void>();
window.addEventListener('popstate', () => listeners.forEach((l) => l()));

/** Goes to a page with parameters (empty ones left out); `replace` keeps history short. */
export function navigate(page: string, params: Record<string, string | undefined> = {}, replace = false) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  const target = `/ui/${page}${s ? '?' + s : ''}`;
  if (target === window.location.pathname + window.location.search) return;
  if (replace) history.replaceState(null, '', target);
  else history.pushState(null, '', target);
  listeners.forEach((l) => l());
}

/** The current location; re-renders on navigation. */
export function useLocation(): Location {
  const [loc, setLoc] = useState(current);
  useEffect(() => {
    const l = () => setLoc(current());
    listeners.add(l);
    return () => {
      listeners.delete(l);
    };
  }, []);
  return loc;
}
