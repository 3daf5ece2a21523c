import type { StoredPoint } from '../src/collection.js';
import { parseCreateCollection } from '../src/config.js';
import type { Engine } from '../src/engine.js';
import type { Op } from '../src/ops.js';
import { parseIndexSchema } from '../src/payload-index.js';
import { normaliseInPlace } from '../src/vectors.js';

/**
 * Randomised collections for the unit tests of the engine's search structures: points with dense (Cosine and
 * Euclid) and sparse (idf and plain) vectors, payloads that hit the indexes' corner cases (arrays, missing
 * fields, values of another type), and a stream of mixed writes applied through the engine's operations.
 */
export type Rnd = () => number;

export function random(seed: number): Rnd {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = Math.imul(state ^ (state >>> 15), 1 | state);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

export const pick = <T>(rnd: Rnd, list: readonly T[]): T => list[Math.floor(rnd() * list.length)] as T;
const int = (rnd: Rnd, n: number) => Math.floor(rnd() * n);

/** 66-d Cosine vectors (a tail past the kernel's 4-float steps): 2,000 points put them in WebAssembly memory. */
export const DIM = 66;
export const CONFIG = parseCreateCollection({
  vectors: { d: { size: DIM, distance: 'Cosine' }, e: { size: 5, distance: 'Euclid' } },
  sparse_vectors: { s: { modifier: 'idf' }, t: {} },
});
export const INDEXED: [string, string][] = [
  ['tenant', 'keyword'],
  ['group', 'keyword'],
  ['n', 'integer'],
  ['flag', 'bool'],
  ['meta.kind', 'keyword'],
  ['title', 'text'],
];
export const GROUPS = ['a', 'b', 'c', 'd'] as const;
export const WORDS = ['red', 'fox', 'dog', 'blue', 'sky'] as const;

export function randomPayload(rnd: Rnd, allOneTenant: boolean): Record<string, unknown> {
  const payload: Record<string, unknown> = {
    tenant: allOneTenant || rnd() < 0.8 ? 't1' : 't2',
    group: rnd() < 0.3 ? [pick(rnd, GROUPS), pick(rnd, GROUPS)] : pick(rnd, GROUPS),
    n: rnd() < 0.1 ? pick(rnd, [2.5, '3', null]) : int(rnd, 10),
    tag: pick(rnd, ['x', 'y', 'z']),
    meta: { kind: pick(rnd, ['p', 'q']) },
    items: Array.from({ length: int(rnd, 3) }, () => ({ k: pick(rnd, GROUPS), v: int(rnd, 5) })),
    title: `${pick(rnd, WORDS)} ${pick(rnd, WORDS)}`,
  };
  if (rnd() < 0.8) payload.flag = rnd() < 0.7;
  return payload;
}

function sparseVector(rnd: Rnd) {
  const indices = [...new Set(Array.from({ length: 1 + int(rnd, 6) }, () => int(rnd, 40)))].sort(
    (a, b) => a - b,
  );
  return { indices: Uint32Array.from(indices), values: Float32Array.from(indices, () => rnd() * 2 - 0.5) };
}

export function randomPoint(rnd: Rnd, id: number, allOneTenant = false): StoredPoint {
  const d = normaliseInPlace(Float32Array.from({ length: DIM }, () => rnd() * 2 - 1));
  const point: StoredPoint = {
    id,
    payload: randomPayload(rnd, allOneTenant),
    dense: rnd() < 0.95 ? { d } : {},
    sparse: {},
  };
  if (rnd() < 0.7) point.dense.e = Float32Array.from({ length: 5 }, () => Math.round(rnd() * 8) / 4);
  if (rnd() < 0.85) point.sparse.s = sparseVector(rnd);
  if (rnd() < 0.5) point.sparse.t = sparseVector(rnd);
  return point;
}

export async function createRandomCollection(engine: Engine, name: string): Promise<void> {
  await engine.commit({ type: 'create_collection', name, config: CONFIG });
  for (const [field, type] of INDEXED) {
    const c = engine.collection(name);
    const schema = parseIndexSchema(type);
    await engine.commit({ type: 'create_index', collection: name, opId: c.nextOpId, field, schema });
  }
}

/** One random write, ids drawn from [0, maxId) so that upserts replace and deletes hit. */
export function randomOp(rnd: Rnd, engine: Engine, name: string, maxId: number): Op {
  const opId = engine.collection(name).nextOpId;
  const ids = () => Array.from({ length: 1 + int(rnd, 20) }, () => int(rnd, maxId));
  const collection = name;
  const r = rnd();
  if (r < 0.45) {
    const points = Array.from({ length: 1 + int(rnd, 60) }, () => randomPoint(rnd, int(rnd, maxId)));
    return { type: 'upsert', collection, opId, points };
  }
  if (r < 0.6) return { type: 'delete_points', collection, opId, ids: ids() };
  if (r < 0.72) {
    const payload =
      rnd() < 0.5 ? { group: pick(rnd, GROUPS), flag: null } : { tenant: 't2', n: int(rnd, 10) };
    return {
      type: 'set_payload',
      collection,
      opId,
      ids: ids(),
      payload,
      ...(rnd() < 0.2 ? { key: 'meta' } : {}),
    };
  }
  if (r < 0.8)
    return { type: 'overwrite_payload', collection, opId, ids: ids(), payload: randomPayload(rnd, false) };
  if (r < 0.88) {
    const keys = [pick(rnd, ['group', 'meta.kind', 'flag', 'n', 'tenant'])];
    return { type: 'delete_payload', collection, opId, ids: ids(), keys };
  }
  if (r < 0.93) return { type: 'clear_payload', collection, opId, ids: ids() };
  const [field, type] = pick(rnd, INDEXED);
  return engine.collection(name).indexes.has(field)
    ? { type: 'delete_index', collection, opId, field }
    : { type: 'create_index', collection, opId, field, schema: parseIndexSchema(type) };
}

/** Adds points 0..points-1 in batches, then applies `writes` random writes on ids below `maxId`. */
export async function populate(
  engine: Engine,
  name: string,
  rnd: Rnd,
  points: number,
  writes: number,
  maxId: number,
) {
  for (let start = 0; start < points; start += 250) {
    const batch = Array.from({ length: Math.min(250, points - start) }, (_, i) =>
      randomPoint(rnd, start + i, true),
    );
    const opId = engine.collection(name).nextOpId;
    await engine.commit({ type: 'upsert', collection: name, opId, points: batch });
  }
  for (let i = 0; i < writes; i++) await engine.commit(randomOp(rnd, engine, name, maxId));
}

/** A random filter condition; some are decided by indexes, some need a per-point check, a few are invalid. */
export function randomCondition(rnd: Rnd, maxId: number, depth = 0): unknown {
  const choices: (() => unknown)[] = [
    () => ({ key: 'tenant', match: { value: pick(rnd, ['t1', 't2']) } }),
    () => ({ key: 'group', match: { value: pick(rnd, GROUPS) } }),
    () => ({ key: 'group', match: { any: [pick(rnd, GROUPS), pick(rnd, GROUPS)] } }),
    () => ({ key: 'group', match: { except: [pick(rnd, GROUPS)] } }),
    () => ({ key: 'n', match: { value: int(rnd, 10) } }),
    () => ({ key: 'n', match: { any: [int(rnd, 10), int(rnd, 10)] } }),
    () => ({ key: 'n', match: { value: String(int(rnd, 10)) } }),
    () => ({ key: 'n', range: { gte: int(rnd, 5), lt: 5 + int(rnd, 5) } }),
    () => ({ key: 'flag', match: { value: rnd() < 0.5 } }),
    () => ({ key: 'tag', match: { value: pick(rnd, ['x', 'y']) } }),
    () => ({ key: 'meta.kind', match: { value: pick(rnd, ['p', 'q']) } }),
    () => ({ key: 'title', match: { text: pick(rnd, WORDS) } }),
    () => ({ has_id: Array.from({ length: int(rnd, 30) }, () => int(rnd, maxId)) }),
    () => ({ is_empty: { key: 'flag' } }),
    () => ({ key: 'n', is_null: rnd() < 0.5 }),
    () => ({ has_vector: pick(rnd, ['d', 's', 't']) }),
    () => ({
      nested: { key: 'items', filter: { must: [{ key: 'k', match: { value: pick(rnd, GROUPS) } }] } },
    }),
    () => ({ key: 'n', match: { value: 1.5 } }),
  ];
  if (depth < 2) choices.push(() => randomFilter(rnd, maxId, depth + 1));
  return (pick(rnd, choices) as () => unknown)();
}

export function randomFilter(rnd: Rnd, maxId: number, depth = 0): Record<string, unknown> {
  const list = (n: number) => Array.from({ length: n }, () => randomCondition(rnd, maxId, depth));
  const filter: Record<string, unknown> = {};
  if (rnd() < 0.8) filter.must = list(1 + int(rnd, 3));
  if (rnd() < 0.3) filter.should = list(int(rnd, 3));
  if (rnd() < 0.3) filter.must_not = list(1 + int(rnd, 2));
  if (rnd() < 0.1) filter.min_should = { conditions: list(2), min_count: int(rnd, 3) };
  return filter;
}
