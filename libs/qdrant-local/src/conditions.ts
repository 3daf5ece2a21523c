import { parseDateTime } from './datetime.js';
import { formatError, isRecord } from './errors.js';
import type { Payload } from './json-path.js';
import { getValues, parsePath } from './json-path.js';
import { matchIndexedText, matchPlainText, type TextMode, type TextParams } from './text.js';

/** A compiled test of one value (a leaf value, not yet fanned out over arrays). */
type ValueCheck = (value: unknown) => boolean;

export type FieldCheck = (payload: Payload | undefined) => boolean;

const FIELD_KEYS = new Set([
  'key',
  'match',
  'range',
  'geo_bounding_box',
  'geo_radius',
  'geo_polygon',
  'values_count',
  'is_empty',
  'is_null',
]);

function compileMatch(match: unknown, text: TextParams | undefined): ValueCheck {
  if (!isRecord(match)) throw formatError('`match` must be an object');
  const keys = Object.keys(match);
  if (keys.length !== 1)
    throw formatError('`match` needs exactly one of value, any, except, text, text_any, phrase');
  const kind = keys[0] as string;
  const arg = match[kind];
  if (kind === 'value') {
    if (typeof arg === 'string' || typeof arg === 'boolean') return (v) => v === arg;
    if (typeof arg === 'number' && Number.isSafeInteger(arg))
      return (v) => typeof v === 'number' && v === arg;
    throw formatError('`match.value` must be a string, an integer or a boolean');
  }
  if (kind === 'any' || kind === 'except') {
    if (!Array.isArray(arg)) throw formatError(`\`match.${kind}\` must be a list`);
    const strings = arg.every((x) => typeof x === 'string');
    if (!strings && !arg.every((x) => typeof x === 'number' && Number.isSafeInteger(x))) {
      throw formatError(`\`match.${kind}\` must be a list of strings or a list of integers`);
    }
    const set = new Set<unknown>(arg);
    if (kind === 'any') {
      return strings
        ? (v) => typeof v === 'string' && set.has(v)
        : (v) => typeof v === 'number' && Number.isInteger(v) && set.has(v);
    }
    // Qdrant's MatchExcept: a value of another type than the list counts as "not excluded", null never matches.
    return (v) => {
      if (v === null) return false;
      if (strings) return typeof v !== 'string' || !set.has(v);
      if (typeof v === 'number') return !Number.isInteger(v) || !set.has(v);
      return true;
    };
  }
  if (kind === 'text' || kind === 'text_any' || kind === 'phrase') {
    if (typeof arg !== 'string') throw formatError(`\`match.${kind}\` must be a string`);
    const mode = kind as TextMode;
    if (text) return (v) => typeof v === 'string' && matchIndexedText(v, arg, mode, text);
    return (v) => typeof v === 'string' && matchPlainText(v, arg, mode);
  }
  throw formatError(`unknown match variant \`${kind}\``);
}

function bounds(range: Record<string, unknown>, parse: (x: unknown) => number): ValueCheck {
  const lt = range.lt == null ? undefined : parse(range.lt);
  const gt = range.gt == null ? undefined : parse(range.gt);
  const lte = range.lte == null ? undefined : parse(range.lte);
  const gte = range.gte == null ? undefined : parse(range.gte);
  return (x) =>
    typeof x === 'number' &&
    (lt === undefined || x < lt) &&
    (gt === undefined || x > gt) &&
    (lte === undefined || x <= lte) &&
    (gte === undefined || x >= gte);
}

function compileRange(range: unknown): ValueCheck {
  if (!isRecord(range)) throw formatError('`range` must be an object');
  for (const key of Object.keys(range)) {
    if (!['lt', 'gt', 'lte', 'gte'].includes(key)) throw formatError(`unknown field \`${key}\` in range`);
  }
  const given = ['lt', 'gt', 'lte', 'gte'].map((k) => range[k]).filter((x) => x !== undefined && x !== null);
  if (given.length > 0 && given.every((x) => typeof x === 'string')) {
    // RangeInterface::DateTime: bounds and payload values are RFC 3339 strings.
    const check = bounds(range, (x) => {
      const ms = parseDateTime(x as string);
      if (ms === undefined) throw formatError(`invalid datetime ${JSON.stringify(x)} in range`);
      return ms;
    });
    return (v) => typeof v === 'string' && check(parseDateTime(v));
  }
  const check = bounds(range, (x) => {
    if (typeof x !== 'number' || !Number.isFinite(x))
      throw formatError('range bounds must be numbers or datetimes');
    return x;
  });
  return (v) => typeof v === 'number' && check(v);
}

function geoPoint(value: unknown, field: string): { lon: number; lat: number } {
  if (!isRecord(value) || typeof value.lon !== 'number' || typeof value.lat !== 'number') {
    throw formatError(`\`${field}\` must be a geo point {lon, lat}`);
  }
  return { lon: value.lon, lat: value.lat };
}

function asGeo(value: unknown): { lon: number; lat: number } | undefined {
  return isRecord(value) && typeof value.lon === 'number' && typeof value.lat === 'number'
    ? { lon: value.lon, lat: value.lat }
    : undefined;
}

/** Haversine distance in meters on Qdrant's mean Earth radius. */
function haversine(a: { lon: number; lat: number }, b: { lon: number; lat: number }): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6_371_008.8 * Math.asin(Math.min(1, Math.sqrt(h)));
}

function insideRing(p: { lon: number; lat: number }, ring: { lon: number; lat: number }[]): boolean {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const a = ring[i] as { lon: number; lat: number };
    const b = ring[j] as { lon: number; lat: number };
    if (
      a.lat > p.lat !== b.lat > p.lat &&
      p.lon < ((b.lon - a.lon) * (p.lat - a.lat)) / (b.lat - a.lat) + a.lon
    ) {
      inside = !inside;
    }
  }
  return inside;
}

function compileGeo(kind: string, arg: unknown): ValueCheck {
  if (!isRecord(arg)) throw formatError(`\`${kind}\` must be an object`);
  if (kind === 'geo_bounding_box') {
    const tl = geoPoint(arg.top_left, 'top_left');
    const br = geoPoint(arg.bottom_right, 'bottom_right');
    return (v) => {
      const p = asGeo(v);
      if (!p || p.lat > tl.lat || p.lat < br.lat) return false;
      return tl.lon <= br.lon ? p.lon >= tl.lon && p.lon <= br.lon : p.lon >= tl.lon || p.lon <= br.lon;
    };
  }
  if (kind === 'geo_radius') {
    const center = geoPoint(arg.center, 'center');
    if (typeof arg.radius !== 'number') throw formatError('`radius` must be a number');
    const radius = arg.radius;
    return (v) => {
      const p = asGeo(v);
      return p !== undefined && haversine(center, p) <= radius;
    };
  }
  const ring = (line: unknown) => {
    if (!isRecord(line) || !Array.isArray(line.points)) throw formatError('polygon lines must be {points}');
    return line.points.map((p) => geoPoint(p, 'points'));
  };
  const exterior = ring(arg.exterior);
  const interiors = Array.isArray(arg.interiors) ? arg.interiors.map(ring) : [];
  return (v) => {
    const p = asGeo(v);
    return p !== undefined && insideRing(p, exterior) && !interiors.some((r) => insideRing(p, r));
  };
}

function countValue(v: unknown): number {
  return v === null ? 0 : Array.isArray(v) ? v.length : 1;
}

/**
 * Compiles a FieldCondition with Qdrant's semantics: value checks apply to any element of an array value, a missing
 * field only satisfies `is_empty: true` / `is_null: false`, and values_count counts array elements.
 */
export function compileFieldCondition(
  raw: Record<string, unknown>,
  text: (key: string) => TextParams | undefined,
) {
  for (const key of Object.keys(raw)) {
    if (!FIELD_KEYS.has(key)) throw formatError(`unknown field \`${key}\` in field condition`);
  }
  if (typeof raw.key !== 'string') throw formatError('field condition `key` must be a string');
  const key = raw.key;
  const path = parsePath(key);
  const checks: ValueCheck[] = [];
  if (raw.match != null) checks.push(compileMatch(raw.match, text(key)));
  if (raw.range != null) checks.push(compileRange(raw.range));
  for (const geo of ['geo_bounding_box', 'geo_radius', 'geo_polygon']) {
    if (raw[geo] != null) checks.push(compileGeo(geo, raw[geo]));
  }
  let valuesCount: ValueCheck | undefined;
  if (raw.values_count != null) {
    if (!isRecord(raw.values_count)) throw formatError('`values_count` must be an object');
    const check = bounds(raw.values_count, (x) => {
      if (typeof x !== 'number' || !Number.isInteger(x) || x < 0)
        throw formatError('values_count bounds must be uints');
      return x;
    });
    valuesCount = (v) => check(countValue(v));
  }
  const isEmpty = typeof raw.is_empty === 'boolean' ? raw.is_empty : undefined;
  const isNull = typeof raw.is_null === 'boolean' ? raw.is_null : undefined;
  if (checks.length === 0 && !valuesCount && isEmpty === undefined && isNull === undefined) {
    throw formatError(`At least one field condition must be specified for key ${JSON.stringify(key)}`);
  }
  const anyElement = (v: unknown) =>
    Array.isArray(v) ? v.some((x) => checks.some((c) => c(x))) : checks.some((c) => c(v));
  const check: ValueCheck = valuesCount
    ? valuesCount
    : isEmpty !== undefined
      ? (v) => (v === null || (Array.isArray(v) && v.length === 0)) === isEmpty
      : isNull !== undefined
        ? (v) => (v === null || (Array.isArray(v) && v.some((x) => x === null))) === isNull
        : anyElement;
  const onMissing = isEmpty !== undefined ? isEmpty : isNull !== undefined ? !isNull : false;
  const fieldCheck: FieldCheck = (payload) => {
    const values = getValues(payload, path);
    if (values.length === 0) return onMissing;
    return values.some(check);
  };
  return fieldCheck;
}
