// Helpers for building queries of the search language (docs/query-language.md).

/** A value as a query term: bare when it is a plain word, number or address, else quoted. */
export function quoteValue(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  const word = /^[A-Za-z0-9_.@][A-Za-z0-9_.@-]*$/.test(s) && !/^(AND|OR|NOT|TO)$/.test(s);
  const ipv6 = /^[0-9A-Fa-f:.]+$/.test(s) && s.includes(':');
  if (word || ipv6) return s;
  return '"' + s.replace(/[\\"]/g, (c) => '\\' + c) + '"';
}

/** `query` narrowed to (or, with `exclude`, away from) `field` = `value`. */
export function addFilter(query: string, field: string, value: unknown, exclude = false): string {
  const clause = `${exclude ? '-' : ''}${field}:${quoteValue(value)}`;
  const q = query.trim();
  if (!q || q === '*') return clause;
  // A top-level OR would bind looser than the new clause: keep the old query together.
  const base = /\bOR\b|\|\|/.test(q) ? `(${q})` : q;
  return `${base} ${clause}`;
}

/** The character index in `s` of a UTF-8 byte offset (the API's error positions are bytes). */
export function byteToCharIndex(s: string, byteOffset: number): number {
  const enc = new TextEncoder();
  let bytes = 0;
  let i = 0;
  for (const ch of s) {
    if (bytes >= byteOffset) return i;
    bytes += enc.encode(ch).length;
    i += ch.length;
  }
  return s.length;
}

/** Every field path of a document (`details.sourceipaddress`...), objects flattened. */
export function fieldPaths(doc: Record<string, any>, prefix = '', out = new Set<string>()): Set<string> {
  for (const [k, v] of Object.entries(doc)) {
    const p = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v)) fieldPaths(v, p, out);
    else out.add(p);
  }
  return out;
}

/** The value at a dotted path of a document. */
export function getPath(doc: any, path: string): unknown {
  let v = doc;
  for (const part of path.split('.')) {
    if (v == null || typeof v !== 'object') return undefined;
    v = v[part];
  }
  return v;
}
