// The console's shell: login, navigation, user menu, theme, toasts, and the pages.
import { render } from 'preact';
import { lazy, Suspense } from 'preact/compat';
import { useEffect, useState } from 'preact/hooks';
import './styles.css';
import { ApiError, api, setCsrf, setUnauthorizedHandler } from './api';
import { Icon } from './components/icons';
import { Toasts, toast } from './components/toast';
import { navigate, useLocation } from './router';
import { Login } from './pages/login';
import { SearchPage } from './pages/search';
import { DashboardsPage } from './pages/dashboards';
import { AlertsPage } from './pages/alerts';
import { IncidentsPage } from './pages/incidents';
import { ListsPage } from './pages/lists';
import { UsersPage } from './pages/users';
import { HealthPage } from './pages/health';

// The map and its country shapes load only when the page opens.
const AttackersPage = lazy(() => import('./pages/attackers').then((m) => ({ default: m.AttackersPage })));

/** Who is logged in; `null` user when the server needs no login. */
export interface Me {
  user: string | null;
  role: string | null;
}

const PAGES = [
  { id: 'search', label: 'Search', icon: 'search', key: 's' },
  { id: 'dashboards', label: 'Dashboards', icon: 'dashboards', key: 'd' },
  { id: 'alerts', label: 'Alerts', icon: 'alerts', key: 'a' },
  { id: 'incidents', label: 'Incidents', icon: 'incidents', key: 'i' },
  { id: 'attackers', label: 'Attackers', icon: 'attackers', key: 'm' },
  { id: 'lists', label: 'Lists', icon: 'lists', key: 'l' },
  { id: 'health', label: 'Health', icon: 'health', key: 'h' },
  { id: 'users', label: 'Users', icon: 'users', key: 'u', admin: true },
];

type Theme = 'dark' | 'light';
function initialTheme(): Theme {
  const saved = localStorage.getItem('ferrodef.theme');
  if (saved === 'dark' || saved === 'light') return saved;
  return window.matchMedia?.('(prefers-color-scheme: light)').matches ? 'light' : 'dark';
}

function App() {
  const [me, setMe] = useState<Me | null | 'login'>(null);
  const [theme, setTheme] = useState<Theme>(initialTheme);
  const loc = useLocation();

  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem('ferrodef.theme', theme);
  }, [theme]);

  const loadMe = async () => {
    try {
      const m = await api('GET', '/api/me', { quiet401: true });
      setCsrf(m?.csrf_token ?? null);
      setMe({ user: m?.user ?? null, role: m?.role ?? null });
      // Read-only users do not see actions they may not take (the API refuses them anyway).
      document.documentElement.dataset.role = m?.role ?? '';
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) setMe('login');
      // No /api/me: this server has no logins.
      else if (e instanceof ApiError && e.status === 404) setMe({ user: null, role: null });
      else {
        toast(`Cannot load the session: ${(e as Error).message}`, 'error');
        setMe({ user: null, role: null });
      }
    }
  };
  useEffect(() => {
    setUnauthorizedHandler(() => setMe('login'));
    loadMe();
  }, []);
  useGlobalKeys();

  if (me === null) return <div class="splash">Loading…</div>;
  if (me === 'login') {
    return (
      <>
        <Login onDone={loadMe} />
        <Toasts />
      </>
    );
  }
  const logout = async () => {
    try {
      await api('POST', '/api/logout', { quiet401: true });
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401)) toast(`Logout failed: ${(e as Error).message}`, 'error');
    }
    setCsrf(null);
    setMe('login');
  };
  // `attackers/<ip>`, `incidents/<id>`: a page and what it shows.
  const [top, ...rest] = loc.page.split('/');
  const sub = rest.length ? safeDecode(rest.join('/')) : undefined;
  const pages = PAGES.filter((p) => !p.admin || me.role === 'admin');
  const page = pages.some((p) => p.id === top) ? top : 'notfound';
  return (
    <div class="shell">
      <header class="topbar">
        <a class="brand" href="/ui/search" onClick={(e) => { e.preventDefault(); navigate('search'); }}>
          <span class="brand-mark">F</span> <span class="brand-name">ferrodef</span>
        </a>
        <nav class="nav" aria-label="Pages">
          {pages.map((p) => (
            <a key={p.id} href={`/ui/${p.id}`} class={page === p.id ? 'active' : ''}
              aria-current={page === p.id ? 'page' : undefined} title={`${p.label} (g ${p.key})`}
              onClick={(e) => { e.preventDefault(); navigate(p.id); }}>
              <Icon name={p.icon} /> <span>{p.label}</span>
            </a>
          ))}
        </nav>
        <div class="topbar-right">
          <button class="icon-btn" title="Toggle dark / light theme" aria-label="Toggle theme"
            onClick={() => setTheme(theme === 'dark' ? 'light' : 'dark')}>
            <Icon name={theme === 'dark' ? 'sun' : 'moon'} />
          </button>
          <UserMenu me={me} onLogout={logout} />
        </div>
      </header>
      <main class="content">
        {page === 'search' && <SearchPage loc={loc} />}
        {page === 'dashboards' && <DashboardsPage loc={loc} />}
        {page === 'alerts' && <AlertsPage loc={loc} />}
        {page === 'incidents' && <IncidentsPage loc={loc} id={sub} />}
        {page === 'attackers' && (
          <Suspense fallback={<div class="empty">Loading the map…</div>}>
            <AttackersPage ip={sub} />
          </Suspense>
        )}
        {page === 'lists' && <ListsPage loc={loc} />}
        {page === 'health' && <HealthPage />}
        {page === 'users' && <UsersPage />}
        {page === 'notfound' && (
          <div class="empty">
            No page “{loc.page}”. <a href="/ui/search">Go to Search</a>
          </div>
        )}
      </main>
      <Toasts />
    </div>
  );
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function UserMenu({ me, onLogout }: { me: Me; onLogout: () => void }) {
  const [open, setOpen] = useState(false);
  if (!me.user) {
    return <span class="muted small" title="This server does not require a login">no login required</span>;
  }
  return (
    <div class="user-menu">
      <button class="btn ghost" aria-haspopup="menu" aria-expanded={open} onClick={() => setOpen(!open)}
        onBlur={() => setTimeout(() => setOpen(false), 150)}>
        <Icon name="user" /> <span class="user-name">{me.user}</span>
      </button>
      {open && (
        <div class="popover menu" role="menu">
          <div class="menu-head">
            <div>{me.user}</div>
            <div class="muted small">{me.role}</div>
          </div>
          <button role="menuitem" class="menu-item" onClick={onLogout}>Log out</button>
        </div>
      )}
    </div>
  );
}

/** `/` focuses the query box; `g` then a letter opens a page. */
function useGlobalKeys() {
  useEffect(() => {
    let g = false;
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable)) return;
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === '/') {
        const q = document.querySelector<HTMLElement>('[data-query-input]');
        if (q) {
          e.preventDefault();
          q.focus();
        }
        return;
      }
      if (g) {
        g = false;
        const p = PAGES.find((p) => p.key === e.key);
        if (p) navigate(p.id);
        return;
      }
      if (e.key === 'g') {
        g = true;
        setTimeout(() => (g = false), 1000);
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);
}

const root = document.getElementById('app');
if (root) render(<App />, root);
