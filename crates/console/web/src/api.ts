// The JSON API client: every request of the console goes through `api`.
//
// Errors become `ApiError`s carrying the HTTP status and the server's message and, for query
// errors, the byte offset of the problem (`position`, see docs/query-language.md).

/** An error answer of the API (or a network failure, status 0). */
export class ApiError extends Error {
  status: number;
  /** Byte offset of the problem in the query, when the server names one. */
  position?: number;
  /** The parameter that was wrong (`q`, `from`, `size`...). */
  parameter?: string;
  constructor(status: number, message: string, position?: number, parameter?: string) {
    super(message);
    this.status = status;
    this.position = position;
    this.parameter = parameter;
  }
}

let csrf: string | null = null;

/** Sets the CSRF token sent with unsafe requests (from `GET /api/me`). */
export function setCsrf(token: string | null) {
  csrf = token;
}

/** Called when the API answers 401: the session ended. */
let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(f: () => void) {
  onUnauthorized = f;
}

type Params = Record<string, string | number | undefined | null>;

/** `path?params`, leaving out empty parameters. */
export function url(path: string, params: Params = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** One request; resolves to the parsed JSON answer, rejects with an ApiError. */
export async function api<T = any>(
  method: string,
  path: string,
  opts: { params?: Params; body?: unknown; signal?: AbortSignal; quiet401?: boolean } = {},
): Promise<T> {
  // `X-Requested-With`: a 401 then carries no Basic challenge, so the browser never shows
  // its own login box (docs/auth.md).
  const headers: Record<string, string> = { accept: 'application/json', 'x-requested-with': 'ferrodef-console' };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrf) headers['x-csrf-token'] = csrf;
  let resp: Response;
  try {
    resp = await fetch(url(path, opts.params), {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      credentials: 'same-origin',
      signal: opts.signal,
    });
  } catch (e: any) {
    if (e?.name === 'AbortError') throw e;
    throw new ApiError(0, `cannot reach the server: ${e?.message ?? e}`);
  }
  const text = await resp.text();
  let body: any = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!resp.ok) {
    if (resp.status === 401 && !opts.quiet401) onUnauthorized();
    const message =
      (body && typeof body.error === 'string' && body.error) ||
      `${resp.status} ${resp.statusText || 'error'} (${method} ${path})`;
    throw new ApiError(resp.status, message, body?.position, body?.parameter);
  }
  return body as T;
}

export const get = <T = any>(path: string, params?: Params, signal?: AbortSignal) =>
  api<T>('GET', path, { params, signal });
export const post = <T = any>(path: string, body?: unknown) => api<T>('POST', path, { body });

// ---- Response shapes (crates/store: SearchResponse, AggResponse) -------------------------

export interface SearchResult {
  total: number;
  took_ms: number;
  hits: Record<string, any>[];
}
export interface TermBucket {
  key: unknown;
  count: number;
}
export interface HistogramBucket {
  key: string;
  key_ms: number;
  count: number;
  terms?: TermBucket[];
}
export interface AggResult {
  total: number;
  took_ms: number;
  terms?: TermBucket[];
  histogram?: HistogramBucket[];
}
