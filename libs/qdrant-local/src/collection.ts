import { type Bits, clearBit, grownBits, newBits, setBit } from './bitset.js';
import type { CollectionConfig } from './config.js';
import { createDenseStore, type DenseStore, growDenseStore } from './dense-store.js';
import { comparePointIds, type PointId } from './ids.js';
import type { Payload } from './json-path.js';
import { indexAdd, indexRemove, type PayloadIndex } from './payload-index.js';
import { createSparseStore, type SparseStore, sparseAdd, sparseRemove } from './sparse-store.js';
import { denseToJson, type SparseVector, sparseToJson } from './vectors.js';

export type { DenseStore } from './dense-store.js';
export type { SparseStore } from './sparse-store.js';

export interface Collection {
  name: string;
  config: CollectionConfig;
  idToSlot: Map<PointId, number>;
  ids: (PointId | undefined)[];
  payloads: (Payload | undefined)[];
  versions: number[];
  free: number[];
  capacity: number;
  dense: Map<string, DenseStore>;
  sparse: Map<string, SparseStore>;
  indexes: Map<string, PayloadIndex>;
  nextOpId: number;
  sortedIds: PointId[] | undefined;
  /** Occupied slots. */
  live: Bits;
  /** Exact query selections by filter key, valid until the next write (ops.ts clears them). */
  selections: Map<string, Bits>;
  /** Called with a slot before anything of it changes (a snapshot being written keeps the old point). */
  beforeWrite: ((slot: number) => void) | undefined;
}

/** A point as stored: vectors already validated (and normalised for Cosine). */
export interface StoredPoint {
  id: PointId;
  payload: Payload;
  dense: Record<string, Float32Array>;
  sparse: Record<string, SparseVector>;
  version?: number;
}

export function createCollection(name: string, config: CollectionConfig): Collection {
  const capacity = 16;
  const dense = new Map<string, DenseStore>();
  for (const [vectorName, params] of Object.entries(config.dense)) {
    dense.set(vectorName, createDenseStore(params, capacity));
  }
  const sparse = new Map<string, SparseStore>();
  for (const [vectorName, params] of Object.entries(config.sparse)) {
    sparse.set(vectorName, createSparseStore(params));
  }
  return {
    name,
    config,
    idToSlot: new Map(),
    ids: [],
    payloads: [],
    versions: [],
    free: [],
    capacity,
    dense,
    sparse,
    indexes: new Map(),
    nextOpId: 0,
    sortedIds: undefined,
    live: newBits(capacity),
    selections: new Map(),
    beforeWrite: undefined,
  };
}

export function pointCount(c: Collection): number {
  return c.idToSlot.size;
}

function grow(c: Collection, needed: number): void {
  if (needed <= c.capacity) return;
  let capacity = c.capacity;
  while (capacity < needed) capacity *= 2;
  for (const store of c.dense.values()) growDenseStore(store, capacity);
  c.live = grownBits(c.live, capacity);
  c.capacity = capacity;
}

export function setPayload(c: Collection, slot: number, payload: Payload): void {
  c.beforeWrite?.(slot);
  const old = c.payloads[slot];
  for (const index of c.indexes.values()) indexRemove(index, slot, old, c.capacity);
  c.payloads[slot] = payload;
  for (const index of c.indexes.values()) indexAdd(index, slot, payload, c.capacity);
}

/** Inserts or replaces a whole point (vectors and payload), as Qdrant's upsert does. */
export function upsertPoint(c: Collection, point: StoredPoint, version: number): void {
  let slot = c.idToSlot.get(point.id);
  if (slot === undefined) {
    slot = c.free.pop() ?? c.ids.length;
    grow(c, slot + 1);
    c.idToSlot.set(point.id, slot);
    c.ids[slot] = point.id;
    setBit(c.live, slot);
    c.sortedIds = undefined;
  }
  c.beforeWrite?.(slot);
  for (const [name, store] of c.dense) {
    const vector = point.dense[name];
    if (vector) store.data.set(vector, slot * store.params.size);
    store.has[slot] = vector ? 1 : 0;
  }
  for (const [name, store] of c.sparse) {
    sparseRemove(store, slot);
    const vector = point.sparse[name];
    if (vector) sparseAdd(store, slot, vector);
  }
  setPayload(c, slot, point.payload);
  c.versions[slot] = point.version ?? version;
}

export function deletePoint(c: Collection, id: PointId): void {
  const slot = c.idToSlot.get(id);
  if (slot === undefined) return;
  c.beforeWrite?.(slot);
  setPayload(c, slot, {});
  c.payloads[slot] = undefined;
  for (const store of c.dense.values()) store.has[slot] = 0;
  for (const store of c.sparse.values()) sparseRemove(store, slot);
  c.idToSlot.delete(id);
  c.ids[slot] = undefined;
  clearBit(c.live, slot);
  c.free.push(slot);
  c.sortedIds = undefined;
}

/** Ids in Qdrant's scroll order, cached until a point is added or removed. */
export function sortedIds(c: Collection): PointId[] {
  if (!c.sortedIds) c.sortedIds = [...c.idToSlot.keys()].sort(comparePointIds);
  return c.sortedIds;
}

export function hasVector(c: Collection, slot: number, name: string): boolean {
  const dense = c.dense.get(name);
  if (dense) return dense.has[slot] === 1;
  return c.sparse.get(name)?.vectors[slot] !== undefined;
}

export type VectorSelector = boolean | string[];

/**
 * `with_vector` output: a map of the point's named vectors, or a plain list when the point only has the default
 * (unnamed) vector, as Qdrant's VectorStructOutput does.
 */
export function vectorOutput(c: Collection, slot: number, selector: VectorSelector): unknown {
  if (selector === false) return undefined;
  const wanted = (name: string) => selector === true || selector.includes(name);
  const out: Record<string, unknown> = {};
  for (const [name, store] of c.dense) {
    if (wanted(name) && store.has[slot] === 1) {
      out[name] = denseToJson(store.data, slot * store.params.size, store.params.size);
    }
  }
  for (const [name, store] of c.sparse) {
    const vector = store.vectors[slot];
    if (wanted(name) && vector) out[name] = sparseToJson(vector);
  }
  const names = Object.keys(out);
  if (names.length === 1 && names[0] === '') return out[''];
  return out;
}

/** A copy of a stored point, for snapshots. */
export function storedPoint(c: Collection, slot: number): StoredPoint {
  const dense: Record<string, Float32Array> = {};
  for (const [name, store] of c.dense) {
    if (store.has[slot] === 1) {
      const offset = slot * store.params.size;
      dense[name] = store.data.slice(offset, offset + store.params.size);
    }
  }
  const sparse: Record<string, SparseVector> = {};
  for (const [name, store] of c.sparse) {
    const vector = store.vectors[slot];
    if (vector) sparse[name] = vector;
  }
  return {
    id: c.ids[slot] as PointId,
    payload: c.payloads[slot] ?? {},
    dense,
    sparse,
    version: c.versions[slot] ?? 0,
  };
}
