import { formatError, isRecord } from './errors.js';

/** One step of a payload key such as `a.b[].c` or `a[2]`; mirrors Qdrant's JsonPath items. */
export type PathItem = { kind: 'key'; key: string } | { kind: 'index'; index: number } | { kind: 'wildcard' };

export type Payload = Record<string, unknown>;

const cache = new Map<string, PathItem[]>();

/** Parses `a.b[].c[0]`; keys may be double-quoted to hold dots (`a."b.c"`). */
export function parsePath(path: string): PathItem[] {
  const hit = cache.get(path);
  if (hit) return hit;
  const items: PathItem[] = [];
  let i = 0;
  const fail = () => formatError(`invalid payload key path ${JSON.stringify(path)}`);
  while (i < path.length) {
    if (items.length > 0) {
      if (path[i] === '[') {
        const end = path.indexOf(']', i);
        if (end < 0) throw fail();
        const inner = path.slice(i + 1, end);
        if (inner === '') items.push({ kind: 'wildcard' });
        else if (/^\d+$/.test(inner)) items.push({ kind: 'index', index: Number(inner) });
        else throw fail();
        i = end + 1;
        continue;
      }
      if (path[i] !== '.') throw fail();
      i++;
    }
    let key: string;
    if (path[i] === '"') {
      const end = path.indexOf('"', i + 1);
      if (end < 0) throw fail();
      key = path.slice(i + 1, end);
      i = end + 1;
    } else {
      let end = i;
      while (end < path.length && path[end] !== '.' && path[end] !== '[') end++;
      key = path.slice(i, end);
      i = end;
    }
    if (key === '') throw fail();
    items.push({ kind: 'key', key });
  }
  if (items.length === 0 || items[0]?.kind !== 'key') throw fail();
  if (cache.size > 10_000) cache.clear();
  cache.set(path, items);
  return items;
}

function collect(items: PathItem[], at: number, value: unknown, out: unknown[]): void {
  if (value === undefined) return;
  const item = items[at];
  if (!item) {
    out.push(value);
    return;
  }
  if (item.kind === 'key') {
    if (isRecord(value)) collect(items, at + 1, value[item.key], out);
  } else if (Array.isArray(value)) {
    if (item.kind === 'index') collect(items, at + 1, value[item.index], out);
    else for (const element of value) collect(items, at + 1, element, out);
  }
}

/** Values at a path; intermediate `[]` fan out, a leaf array stays one value (Qdrant's `value_get`). */
export function getValues(payload: Payload | undefined, path: string | PathItem[]): unknown[] {
  if (!payload) return [];
  const items = typeof path === 'string' ? parsePath(path) : path;
  const out: unknown[] = [];
  collect(items, 0, payload, out);
  return out;
}

/** Qdrant's set_payload merge: a null value removes the key. */
export function mergeInto(dest: Payload, src: Payload): void {
  for (const [key, value] of Object.entries(src)) {
    if (value === null) delete dest[key];
    else dest[key] = structuredClone(value);
  }
}

function setAt(items: PathItem[], at: number, dest: unknown, src: Payload): unknown {
  const item = items[at];
  if (!item) {
    const target = isRecord(dest) ? dest : {};
    mergeInto(target, src);
    return target;
  }
  if (item.kind === 'key') {
    const target = isRecord(dest) ? dest : {};
    target[item.key] = setAt(items, at + 1, target[item.key], src);
    return target;
  }
  if (!Array.isArray(dest)) return [];
  if (item.kind === 'index') {
    if (item.index < dest.length) dest[item.index] = setAt(items, at + 1, dest[item.index], src);
  } else {
    for (let i = 0; i < dest.length; i++) dest[i] = setAt(items, at + 1, dest[i], src);
  }
  return dest;
}

/** set_payload with `key`: merges `src` into the object found (or created) at `path`. */
export function setByPath(payload: Payload, path: string, src: Payload): void {
  const items = parsePath(path);
  setAt(items, 0, payload, src);
}

function removeAt(items: PathItem[], at: number, value: unknown): void {
  const item = items[at];
  if (!item) return;
  const last = at === items.length - 1;
  if (item.kind === 'key') {
    if (!isRecord(value)) return;
    if (last) delete value[item.key];
    else removeAt(items, at + 1, value[item.key]);
    return;
  }
  if (!Array.isArray(value)) return;
  if (item.kind === 'index') {
    if (last) value.splice(item.index, 1);
    else removeAt(items, at + 1, value[item.index]);
  } else if (last) {
    value.length = 0;
  } else {
    for (const element of value) removeAt(items, at + 1, element);
  }
}

export function removeByPath(payload: Payload, path: string): void {
  removeAt(parsePath(path), 0, payload);
}

function includeAt(value: unknown, patterns: PathItem[][], depth: number): unknown {
  if (patterns.some((p) => p.length <= depth)) return value;
  if (Array.isArray(value)) {
    return value.map((element) => includeAt(element, patterns, depth));
  }
  if (!isRecord(value)) return undefined;
  const out: Payload = {};
  for (const [key, child] of Object.entries(value)) {
    const next = patterns.filter((p) => {
      const item = p[depth];
      return item?.kind === 'key' && item.key === key;
    });
    if (next.length === 0) continue;
    const kept = includeAt(child, next, depth + 1);
    if (kept !== undefined) out[key] = kept;
  }
  return out;
}

/** Applies `with_payload`: true, false, a list of keys, `{include}` or `{exclude}`. */
export function selectPayload(payload: Payload, selector: PayloadSelector): Payload | undefined {
  if (selector.kind === 'none') return undefined;
  if (selector.kind === 'all') return payload;
  if (selector.kind === 'include') {
    const patterns = selector.paths.map(parsePath).map((p) => p.filter((item) => item.kind === 'key'));
    return (includeAt(payload, patterns, 0) as Payload | undefined) ?? {};
  }
  const copy = structuredClone(payload);
  for (const path of selector.paths) removeByPath(copy, path);
  return copy;
}

export type PayloadSelector =
  | { kind: 'none' }
  | { kind: 'all' }
  | { kind: 'include'; paths: string[] }
  | { kind: 'exclude'; paths: string[] };

function stringList(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw formatError(`\`${field}\` must be a list of payload keys`);
  }
  for (const path of value) parsePath(path);
  return value;
}

export function parsePayloadSelector(value: unknown, fallback: boolean): PayloadSelector {
  if (value === undefined || value === null) return { kind: fallback ? 'all' : 'none' };
  if (typeof value === 'boolean') return { kind: value ? 'all' : 'none' };
  if (Array.isArray(value)) return { kind: 'include', paths: stringList(value, 'with_payload') };
  if (isRecord(value) && 'include' in value)
    return { kind: 'include', paths: stringList(value.include, 'include') };
  if (isRecord(value) && 'exclude' in value)
    return { kind: 'exclude', paths: stringList(value.exclude, 'exclude') };
  throw formatError('`with_payload` must be a boolean, a list of keys, {include} or {exclude}');
}
