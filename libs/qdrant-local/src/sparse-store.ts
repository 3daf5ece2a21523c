import type { Bits } from './bitset.js';
import type { SparseParams } from './config.js';
import type { TopK } from './ranking.js';
import type { SparseVector } from './vectors.js';

/** The points holding one dimension, with their weights, in no particular order. */
interface PostingList {
  slots: Int32Array;
  weights: Float32Array;
  length: number;
}

/**
 * One named sparse vector of a collection, with an inverted index (postings per dimension) as Qdrant keeps
 * one: a query visits only the points sharing a dimension with it. A list's length is the dimension's document
 * frequency for IDF. `positions[slot][j]` is where the point's j-th dimension sits in that dimension's list, so a
 * removal swaps the list's last entry into the hole without searching.
 */
export interface SparseStore {
  params: SparseParams;
  vectors: (SparseVector | undefined)[];
  postings: Map<number, PostingList>;
  positions: (Int32Array | undefined)[];
  /** Points holding this vector: IDF's n. */
  count: number;
}

export function createSparseStore(params: SparseParams): SparseStore {
  return { params, vectors: [], postings: new Map(), positions: [], count: 0 };
}

/** Points holding the dimension. */
export function documentFrequency(store: SparseStore, dimension: number): number {
  return store.postings.get(dimension)?.length ?? 0;
}

function appendPosting(store: SparseStore, dimension: number, slot: number, weight: number): number {
  let list = store.postings.get(dimension);
  if (!list) {
    list = { slots: new Int32Array(4), weights: new Float32Array(4), length: 0 };
    store.postings.set(dimension, list);
  }
  if (list.length === list.slots.length) {
    const slots = new Int32Array(list.length * 2);
    const weights = new Float32Array(list.length * 2);
    slots.set(list.slots);
    weights.set(list.weights);
    list.slots = slots;
    list.weights = weights;
  }
  list.slots[list.length] = slot;
  list.weights[list.length] = weight;
  return list.length++;
}

export function sparseAdd(store: SparseStore, slot: number, vector: SparseVector): void {
  const positions = new Int32Array(vector.indices.length);
  for (let j = 0; j < vector.indices.length; j++) {
    positions[j] = appendPosting(store, vector.indices[j] as number, slot, vector.values[j] as number);
  }
  store.vectors[slot] = vector;
  store.positions[slot] = positions;
  store.count++;
}

/** Index of `dimension` in a vector's sorted indices. */
function find(indices: Uint32Array, dimension: number): number {
  let lo = 0;
  let hi = indices.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((indices[mid] as number) < dimension) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function sparseRemove(store: SparseStore, slot: number): void {
  const old = store.vectors[slot];
  const positions = store.positions[slot];
  if (!old || !positions) return;
  for (let j = 0; j < old.indices.length; j++) {
    const dimension = old.indices[j] as number;
    const list = store.postings.get(dimension) as PostingList;
    const at = positions[j] as number;
    const last = --list.length;
    if (at !== last) {
      const moved = list.slots[last] as number;
      list.slots[at] = moved;
      list.weights[at] = list.weights[last] as number;
      const movedVector = store.vectors[moved] as SparseVector;
      (store.positions[moved] as Int32Array)[find(movedVector.indices, dimension)] = at;
    }
    if (list.length === 0) store.postings.delete(dimension);
  }
  store.vectors[slot] = undefined;
  store.positions[slot] = undefined;
  store.count--;
}

let acc = new Float64Array(0);
let seen = new Uint8Array(0);
let touched = new Int32Array(0);

function scratch(slots: number): void {
  if (acc.length >= slots) return;
  const size = Math.max(slots, acc.length * 2);
  acc = new Float64Array(size);
  seen = new Uint8Array(size);
  touched = new Int32Array(size);
}

/**
 * Offers `top` every slot of `bits` sharing a dimension with the query, scored as `sparseScore` scores it: the
 * products of shared dimensions summed in float64 in ascending dimension order (the query's indices are sorted),
 * then rounded to float32.
 */
export function sparseSearch(
  store: SparseStore,
  query: SparseVector,
  bits: Bits,
  top: TopK,
  threshold: number | undefined,
): void {
  scratch(store.vectors.length);
  let n = 0;
  for (let i = 0; i < query.indices.length; i++) {
    const list = store.postings.get(query.indices[i] as number);
    if (!list) continue;
    const q = query.values[i] as number;
    const { slots, weights, length } = list;
    for (let e = 0; e < length; e++) {
      const slot = slots[e] as number;
      if ((((bits[slot >>> 5] as number) >>> (slot & 31)) & 1) === 0) continue;
      if (seen[slot] === 0) {
        seen[slot] = 1;
        acc[slot] = 0;
        touched[n++] = slot;
      }
      acc[slot] = (acc[slot] as number) + q * (weights[e] as number);
    }
  }
  for (let t = 0; t < n; t++) {
    const slot = touched[t] as number;
    seen[slot] = 0;
    const score = Math.fround(acc[slot] as number);
    if (threshold === undefined || score >= threshold) top.push(slot, score);
  }
}
