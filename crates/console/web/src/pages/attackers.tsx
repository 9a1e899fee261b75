// Attackers: the source IPs behind alerts on a world map and in a table. The map is drawn from
// Natural Earth's 1:110m countries (npm `world-atlas`, public domain data) shipped in the
// bundle: no tile server. Data: GET /api/attackers.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { geoNaturalEarth1, geoPath, geoGraticule10 } from 'd3-geo';
import { feature, mesh } from 'topojson-client';
import world from 'world-atlas/countries-110m.json';
import { ApiError, get } from '../api';
import { navigate } from '../router';
import { formatTime } from '../time';

/** One attacker, as `GET /api/attackers` lists them. */
export interface Attacker {
  ip: string;
  country?: string | null;
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

export function AttackersPage() {
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
        <WorldMap attackers={rows} selected={selected} onSelect={setSelected} />
        {state === 'missing' && <div class="map-note">Attacker data is not available yet on this server.</div>}
        {state === 'ok' && !rows.length && <div class="map-note">No data: no attackers seen.</div>}
      </div>
      {state === 'error' && <div class="error-box" role="alert">{err}</div>}
      {state === 'ok' && rows.length > 0 && (
        <div class="panel table-panel">
          <table class="events" data-testid="attackers">
            <thead>
              <tr>
                <th>IP</th><th>Country</th><th>ASN</th><th>First seen</th><th>Last seen</th>
                <th class="num">Alerts</th><th class="num">Events</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((a) => (
                <tr key={a.ip} class={selected === a.ip ? 'selected' : ''} tabIndex={0}
                  onMouseEnter={() => setSelected(a.ip)}
                  onClick={() => navigate('search', { q: `details.sourceipaddress:${a.ip}` })}
                  onKeyDown={(e) => e.key === 'Enter' && navigate('search', { q: `details.sourceipaddress:${a.ip}` })}>
                  <td class="mono">{a.ip}</td>
                  <td>{a.country ?? '—'}</td>
                  <td class="mono">{a.asn ?? '—'}</td>
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

function WorldMap({ attackers, selected, onSelect }: {
  attackers: Attacker[];
  selected: string | null;
  onSelect: (ip: string | null) => void;
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
            data-ip={a.ip} onMouseEnter={() => onSelect(a.ip)} onMouseLeave={() => onSelect(null)}>
            <title>{`${a.ip} — ${a.country ?? 'unknown'} — ${a.alerts ?? 0} alerts`}</title>
          </circle>
        );
      })}
    </svg>
  );
}
