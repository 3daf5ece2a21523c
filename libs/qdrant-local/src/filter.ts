import { compileFieldCondition } from './conditions.js';
import { formatError, isRecord } from './errors.js';
import { type PointId, parsePointIds } from './ids.js';
import type { Payload } from './json-path.js';
import { getValues, parsePath } from './json-path.js';
import type { TextParams } from './text.js';

/** A filter as Qdrant models it, with its conditions still raw (they are validated when compiled). */
export interface FilterAst {
  must?: unknown[];
  should?: unknown[];
  mustNot?: unknown[];
  minShould?: { conditions: unknown[]; minCount: number };
}

/** What a filter needs from the collection besides the payload. */
export interface FilterEnv {
  idOf(slot: number): PointId | undefined;
  hasVector(slot: number, name: string): boolean;
  /** Params of the text index on this key, if any; they switch `match.text` from substring to token matching. */
  textParams(key: string): TextParams | undefined;
}

/** `slot` is -1 inside `nested`, where Qdrant does not support has_id / has_vector. */
export type Check = (payload: Payload | undefined, slot: number) => boolean;

const FILTER_KEYS = new Set(['must', 'should', 'must_not', 'min_should']);

function conditionList(value: unknown, field: string): unknown[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) return value;
  if (isRecord(value)) return [value];
  throw formatError(`\`${field}\` must be a condition or a list of conditions`);
}

export function parseFilter(raw: unknown): FilterAst | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isRecord(raw)) throw formatError('`filter` must be an object');
  for (const key of Object.keys(raw)) {
    if (!FILTER_KEYS.has(key)) {
      throw formatError(
        `unknown field \`${key}\`, expected one of \`should\`, \`min_should\`, \`must\`, \`must_not\``,
      );
    }
  }
  const ast: FilterAst = {};
  const must = conditionList(raw.must, 'must');
  const should = conditionList(raw.should, 'should');
  const mustNot = conditionList(raw.must_not, 'must_not');
  if (must) ast.must = must;
  if (should) ast.should = should;
  if (mustNot) ast.mustNot = mustNot;
  if (raw.min_should !== undefined && raw.min_should !== null) {
    const ms = raw.min_should;
    if (!isRecord(ms) || !Array.isArray(ms.conditions))
      throw formatError('`min_should` must be {conditions, min_count}');
    const minCount = ms.min_count;
    if (typeof minCount !== 'number' || !Number.isInteger(minCount) || minCount < 0) {
      throw formatError('`min_should.min_count` must be an unsigned integer');
    }
    ast.minShould = { conditions: ms.conditions, minCount };
  }
  return ast;
}

function concat(a: unknown[] | undefined, b: unknown[] | undefined): unknown[] | undefined {
  return a && b ? [...a, ...b] : (a ?? b);
}

/**
 * Qdrant's `Filter::merge`: clause lists are concatenated per kind (so two `should` lists become one OR), which is
 * how the query's filter is pushed into every prefetch.
 */
export function mergeFilters(a: FilterAst | undefined, b: FilterAst | undefined): FilterAst | undefined {
  if (!a) return b;
  if (!b) return a;
  const merged: FilterAst = {};
  const must = concat(a.must, b.must);
  const should = concat(a.should, b.should);
  const mustNot = concat(a.mustNot, b.mustNot);
  if (must) merged.must = must;
  if (should) merged.should = should;
  if (mustNot) merged.mustNot = mustNot;
  if (a.minShould && b.minShould) {
    merged.minShould = {
      conditions: [...a.minShould.conditions, ...b.minShould.conditions],
      minCount: a.minShould.minCount + b.minShould.minCount,
    };
  } else if (a.minShould || b.minShould) {
    merged.minShould = a.minShould ?? b.minShould;
  }
  return merged;
}

function compileCondition(raw: unknown, env: FilterEnv, prefix: string): Check {
  if (!isRecord(raw)) throw formatError('a condition must be an object');
  if ('key' in raw) {
    const check = compileFieldCondition(raw, (key) => env.textParams(prefix + key));
    return (payload) => check(payload);
  }
  if ('is_empty' in raw || 'is_null' in raw) {
    const kind = 'is_empty' in raw ? 'is_empty' : 'is_null';
    const field = raw[kind];
    if (!isRecord(field) || typeof field.key !== 'string') throw formatError(`\`${kind}\` must be {key}`);
    const path = parsePath(field.key);
    if (kind === 'is_empty') {
      // Qdrant's check_is_empty: every value found is null or [] (and no value at all counts as empty).
      return (payload) =>
        getValues(payload, path).every((v) => v === null || (Array.isArray(v) && v.length === 0));
    }
    return (payload) =>
      getValues(payload, path).some((v) => v === null || (Array.isArray(v) && v.some((x) => x === null)));
  }
  if ('has_id' in raw) {
    const ids = new Set<PointId>(parsePointIds(raw.has_id, 'has_id'));
    return (_payload, slot) => {
      const id = slot < 0 ? undefined : env.idOf(slot);
      return id !== undefined && ids.has(id);
    };
  }
  if ('has_vector' in raw) {
    const name = raw.has_vector;
    if (typeof name !== 'string') throw formatError('`has_vector` must be a vector name');
    return (_payload, slot) => slot >= 0 && env.hasVector(slot, name);
  }
  if ('nested' in raw) {
    const nested = raw.nested;
    if (!isRecord(nested) || typeof nested.key !== 'string')
      throw formatError('`nested` must be {key, filter}');
    const key = nested.key.endsWith('[]') ? nested.key : `${nested.key}[]`;
    const path = parsePath(key);
    const inner = compileFilter(parseFilter(nested.filter) ?? {}, env, `${prefix}${key}.`);
    return (payload) => getValues(payload, path).some((v) => isRecord(v) && inner(v, -1));
  }
  if (Object.keys(raw).every((k) => FILTER_KEYS.has(k))) {
    return compileFilter(parseFilter(raw) ?? {}, env, prefix);
  }
  throw formatError(
    `data did not match any variant of untagged enum Condition: ${JSON.stringify(raw).slice(0, 200)}`,
  );
}

/** Compiles a filter into a predicate, evaluating clauses in Qdrant's order: should, min_should, must, must_not. */
export function compileFilter(ast: FilterAst, env: FilterEnv, prefix = ''): Check {
  const compile = (list: unknown[] | undefined) => list?.map((c) => compileCondition(c, env, prefix));
  const should = compile(ast.should);
  const must = compile(ast.must);
  const mustNot = compile(ast.mustNot);
  const minShould = ast.minShould
    ? { checks: compile(ast.minShould.conditions) ?? [], minCount: ast.minShould.minCount }
    : undefined;
  return (payload, slot) => {
    if (should && !should.some((c) => c(payload, slot))) return false;
    if (minShould) {
      let matched = 0;
      for (const c of minShould.checks) {
        if (matched >= minShould.minCount) break;
        if (c(payload, slot)) matched++;
      }
      if (matched < minShould.minCount) return false;
    }
    if (must && !must.every((c) => c(payload, slot))) return false;
    if (mustNot?.some((c) => c(payload, slot))) return false;
    return true;
  };
}
