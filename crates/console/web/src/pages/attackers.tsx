// Attackers: the source IPs behind alerts on a world map and in a table, and an attacker's own
// page (`/ui/attackers/<ip>`: its place, network, counts and alerts). The map is drawn from
// Natural Earth's 1:110m countries (npm `world-atlas`, public domain data) shipped in the
// bundle: no tile server. Data: GET /api/attackers, GET /api/attackers/{ip}.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { geoNaturalEarth1, geoPath, geoGraticule10 } from 'd3-geo';
import { feature, mesh } from 'topojson-client';
import world from 'world-atlas/countries-110m.json';
import { ApiError, get } from '../api';
import { ListButtons } from '../components/list-buttons';
import { navigate } from '../router';
import { formatTime } from '../time';
import type { Alert } from './alerts';
import { Severity } from './search';

/** One attacker, as `GET /api/attackers` lists them. */
export interface Attacker {
  ip: string;
  /** ISO country code. */
  country?: string | null;
  country_name?: string | null;
  city?: string | null;
  as_organization?: string | null;
  alert_ids?: string[];
  lat?: number | null;
  lon?: number | null;
  asn?: string | number | null;
  first_seen?: string | null;
  last_seen?: string | null;
  alerts?: number;
  events?: number;
}

const WIDTH = 960;
const HEIGHT = 500;

export function AttackersPage({ ip }: { ip?: string }) {
  return ip ? <AttackerPage ip={ip} /> : <AttackerList />;
}

function AttackerList() {
  const [list, setList] = useState<Attacker[] | null>(null);
  const [state, setState] = useState<'loading' | 'ok' | 'missing' | 'error'>('loading');
  const [err, setErr] = useState('');
  const [selected, setSelected] = useState<string | null>(null);
  useEffect(() => {
    const ctl = new AbortController();
    get<Attacker[] | { attackers: Attacker[] }>('/api/attackers', {}, ctl.signal)
      .then((r) => {
        setList(Array.isArray(r) ? r : (r?.attackers ?? []));
        setState('ok');
      })
      .catch((e) => {
        if (e.name === 'AbortError') return;
        if (e instanceof ApiError && e.status === 404) setState('missing');
        else {
          setErr(e.message);
          setState('error');
        }
      });
    return () => ctl.abort();
  }, []);
  const rows = list ?? [];
  return (
    <div class="attackers-page">
      <div class="toolbar">
        <h1 class="page-title">Attackers</h1>
        <span class="muted small">Source addresses behind alerts</span>
      </div>
      <div class="panel map-panel">
        <WorldMap attackers={rows} selected={selected} onSelect={setSelected} onOpen={openAttacker} />
        {state === 'missing' && <div class="map-note">Attacker data is not available yet on this server.</div>}
        {state === 'ok' && !rows.length && <div class="map-note">No data: no attackers seen.</div>}
      </div>
      {state === 'error' && <div class="error-box" role="alert">{err}</div>}
      {state === 'ok' && rows.length > 0 && (
        <div class="panel table-panel">
          <table class="events" data-testid="attackers">
            <thead>
              <tr>
                <th>IP</th><th>Country</th><th>City</th><th>ASN</th><th>First seen</th><th>Last seen</th>
                <th class="num">Alerts</th><th class="num">Events</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((a) => (
                <tr key={a.ip} class={selected === a.ip ? 'selected' : ''} tabIndex={0}
                  onMouseEnter={() => setSelected(a.ip)}
                  onClick={() => openAttacker(a.ip)}
                  onKeyDown={(e) => e.key === 'Enter' && openAttacker(a.ip)}>
                  <td class="mono"><a href={attackerHref(a.ip)} onClick={(e) => e.preventDefault()}>{a.ip}</a></td>
                  <td>{countryLabel(a)}</td>
                  <td>{a.city ?? '—'}</td>
                  <td class="mono">{asnLabel(a)}</td>
                  <td class="mono">{a.first_seen ? formatTime(Date.parse(a.first_seen), false) : '—'}</td>
                  <td class="mono">{a.last_seen ? formatTime(Date.parse(a.last_seen), false) : '—'}</td>
                  <td class="num">{a.alerts ?? 0}</td>
                  <td class="num">{a.events ?? 0}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

/** The countries and graticule as SVG paths, computed once. */
function useWorld() {
  return useMemo(() => {
    const projection = geoNaturalEarth1().fitExtent([[8, 8], [WIDTH - 8, HEIGHT - 8]], { type: 'Sphere' } as any);
    const path = geoPath(projection);
    const topo = world as any;
    const countries = (feature(topo, topo.objects.countries) as any).features as any[];
    return {
      projection,
      sphere: path({ type: 'Sphere' } as any) ?? '',
      graticule: path(geoGraticule10()) ?? '',
      countries: countries.map((f) => ({ id: String(f.id ?? f.properties?.name), name: f.properties?.name as string, d: path(f) ?? '' })),
      borders: path(mesh(topo, topo.objects.countries, (a: unknown, b: unknown) => a !== b) as any) ?? '',
    };
  }, []);
}

function WorldMap({ attackers, selected, onSelect, onOpen }: {
  attackers: Attacker[];
  selected: string | null;
  onSelect: (ip: string | null) => void;
  onOpen?: (ip: string) => void;
}) {
  const w = useWorld();
  const max = Math.max(1, ...attackers.map((a) => a.alerts ?? 0));
  return (
    <svg class="world" viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label="World map of attackers"
      data-testid="world-map">
      <path class="sphere" d={w.sphere} />
      <path class="graticule" d={w.graticule} />
      {w.countries.map((c) => (
        <path key={c.id} class="country" d={c.d}><title>{c.name}</title></path>
      ))}
      <path class="borders" d={w.borders} />
      {attackers.map((a) => {
        if (a.lat == null || a.lon == null) return null;
        const p = w.projection([a.lon, a.lat]);
        if (!p) return null;
        const r = 3 + 9 * Math.sqrt((a.alerts ?? 0) / max);
        return (
          <circle key={a.ip} class={selected === a.ip ? 'marker selected' : 'marker'} cx={p[0]} cy={p[1]} r={r}
            data-ip={a.ip} data-country={a.country_name ?? a.country ?? ''}
            onMouseEnter={() => onSelect(a.ip)} onMouseLeave={() => onSelect(null)} onClick={() => onOpen?.(a.ip)}>
            <title>{`${a.ip} — ${countryLabel(a)} — ${a.alerts ?? 0} alerts`}</title>
          </circle>
        );
      })}
    </svg>
  );
}

const attackerHref = (ip: string) => `/ui/attackers/${encodeURIComponent(ip)}`;
const openAttacker = (ip: string) => navigate(`attackers/${encodeURIComponent(ip)}`);
const countryLabel = (a: Attacker) =>
  a.country_name ? `${a.country_name}${a.country ? ` (${a.country})` : ''}` : (a.country ?? '—');
const asnLabel = (a: Attacker) =>
  a.asn == null ? '—' : `AS${String(a.asn).replace(/^AS/i, '')}${a.as_organization ? ` ${a.as_organization}` : ''}`;

/** One attacker: where it is, its network, when it was seen, and the alerts it is behind. */
function AttackerPage({ ip }: { ip: string }) {
  const [data, setData] = useState<{ attacker: Attacker; alerts: Alert[] } | null>(null);
  const [err, setErr] = useState('');
  useEffect(() => {
    const ctl = new AbortController();
    setData(null);
    setErr('');
    get<{ attacker: Attacker; alerts: Alert[] }>(`/api/attackers/${encodeURIComponent(ip)}`, {}, ctl.signal)
      .then(setData)
      .catch((e) => e.name !== 'AbortError' && setErr(e.message));
    return () => ctl.abort();
  }, [ip]);
  const a = data?.attacker;
  return (
    <div class="attackers-page" data-testid="attacker-page">
      <div class="toolbar">
        <a href="/ui/attackers" onClick={(e) => { e.preventDefault(); navigate('attackers'); }}>Attackers</a>
        <span class="muted">/</span>
        <h1 class="page-title mono">{ip}</h1>
        <div class="spacer" />
        <a class="btn" href={`/ui/search?q=${encodeURIComponent(`details.sourceipaddress:${ip}`)}&from=now-30d`}
          onClick={(e) => { e.preventDefault(); navigate('search', { q: `details.sourceipaddress:${ip}`, from: 'now-30d' }); }}>
          Search its events
        </a>
        <ListButtons kind={ip.includes(':') || ip.includes('.') ? 'ip' : 'hostname'} value={ip}
          reason={a ? `attacker behind ${a.alerts ?? 0} alerts` : 'attacker'} />
      </div>
      {err && <div class="error-box" role="alert">{err}</div>}
      {!data && !err && <div class="panel empty">Loading…</div>}
      {a && data && (
        <>
          <div class="attacker-grid">
            <div class="panel">
              <dl class="facts" data-testid="attacker-facts">
                <dt>Country</dt><dd data-testid="attacker-country">{countryLabel(a)}</dd>
                <dt>City</dt><dd>{a.city ?? '—'}</dd>
                <dt>Location</dt><dd class="mono">{a.lat != null && a.lon != null ? `${a.lat.toFixed(4)}, ${a.lon.toFixed(4)}` : '—'}</dd>
                <dt>Network</dt><dd class="mono">{asnLabel(a)}</dd>
                <dt>First seen</dt><dd class="mono">{a.first_seen ? formatTime(Date.parse(a.first_seen), false) : '—'}</dd>
                <dt>Last seen</dt><dd class="mono">{a.last_seen ? formatTime(Date.parse(a.last_seen), false) : '—'}</dd>
                <dt>Alerts</dt><dd data-testid="attacker-alerts">{a.alerts ?? 0}</dd>
                <dt>Events</dt><dd>{a.events ?? 0}</dd>
              </dl>
            </div>
            <div class="panel map-panel">
              <WorldMap attackers={[a]} selected={a.ip} onSelect={() => {}} />
            </div>
          </div>
          <div class="panel table-panel">
            <div class="panel-head"><span><strong>{data.alerts.length}</strong> alerts</span></div>
            <table class="events" data-testid="attacker-alert-list">
              <thead>
                <tr><th class="col-time">Time (UTC)</th><th>Severity</th><th class="col-summary">Summary</th><th>Rule</th><th class="num">Events</th></tr>
              </thead>
              <tbody>
                {data.alerts.map((al) => (
                  <tr key={al.id} class="event-row" tabIndex={0}
                    onClick={() => navigate('alerts', { q: `id:${al.id}` })}
                    onKeyDown={(e) => e.key === 'Enter' && navigate('alerts', { q: `id:${al.id}` })}>
                    <td class="col-time mono">{formatTime(Date.parse(al.utctimestamp), false)}</td>
                    <td><Severity value={al.severity} /></td>
                    <td class="col-summary">{al.summary}</td>
                    <td class="mono small nowrap">{al.rule}</td>
                    <td class="num">{al.count ?? al.events?.length ?? 0}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </div>
  );
}
