import type { Distance } from './config.js';
import { badRequest, formatError, isRecord } from './errors.js';

export interface SparseVector {
  indices: Uint32Array;
  values: Float32Array;
}

/** Large-better distances rank descending; Euclid and Manhattan scores are distances and rank ascending. */
export function smallBetter(distance: Distance): boolean {
  return distance === 'Euclid' || distance === 'Manhattan';
}

export function parseDenseVector(value: unknown, size: number, name: string): Float32Array {
  if (!Array.isArray(value) || !value.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw formatError(`vector ${JSON.stringify(name)} must be a list of numbers`);
  }
  if (value.length !== size) {
    throw badRequest(`Vector dimension error: expected dim: ${size}, got ${value.length}`);
  }
  return Float32Array.from(value as number[]);
}

export function isSparseShape(value: unknown): value is { indices: unknown; values: unknown } {
  return isRecord(value) && 'indices' in value && 'values' in value;
}

/** Validates and sorts by index, as Qdrant stores sparse vectors. */
export function parseSparseVector(value: unknown, name: string): SparseVector {
  if (!isSparseShape(value))
    throw formatError(`sparse vector ${JSON.stringify(name)} must be {indices, values}`);
  const { indices, values } = value;
  if (!Array.isArray(indices) || !Array.isArray(values))
    throw formatError('indices and values must be lists');
  if (indices.length !== values.length) {
    throw formatError('Validation error in JSON body: indices and values must be the same length');
  }
  const pairs: [number, number][] = [];
  const seen = new Set<number>();
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i];
    const weight = values[i];
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index > 0xffffffff) {
      throw formatError('sparse vector indices must be unsigned 32-bit integers');
    }
    if (typeof weight !== 'number' || !Number.isFinite(weight))
      throw formatError('sparse vector values must be numbers');
    if (seen.has(index)) throw formatError('Validation error in JSON body: indices must be unique');
    seen.add(index);
    pairs.push([index, weight]);
  }
  pairs.sort((a, b) => a[0] - b[0]);
  return { indices: Uint32Array.from(pairs, (p) => p[0]), values: Float32Array.from(pairs, (p) => p[1]) };
}

/** Cosine collections store unit vectors (Qdrant normalises at insert and at query time). */
export function normaliseInPlace(vector: Float32Array): Float32Array {
  let norm = 0;
  for (let i = 0; i < vector.length; i++) norm += (vector[i] as number) * (vector[i] as number);
  norm = Math.sqrt(norm);
  if (norm < Number.EPSILON) return vector;
  for (let i = 0; i < vector.length; i++) vector[i] = (vector[i] as number) / norm;
  return vector;
}

export function prepareDense(vector: Float32Array, distance: Distance): Float32Array {
  return distance === 'Cosine' ? normaliseInPlace(vector) : vector;
}

/** Scores `query` against the vector stored at `data[offset .. offset + query.length]`. */
export function denseScore(
  distance: Distance,
  query: Float32Array,
  data: Float32Array,
  offset: number,
): number {
  const n = query.length;
  let acc = 0;
  if (distance === 'Cosine' || distance === 'Dot') {
    let i = 0;
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    for (; i + 3 < n; i += 4) {
      acc += (query[i] as number) * (data[offset + i] as number);
      a1 += (query[i + 1] as number) * (data[offset + i + 1] as number);
      a2 += (query[i + 2] as number) * (data[offset + i + 2] as number);
      a3 += (query[i + 3] as number) * (data[offset + i + 3] as number);
    }
    for (; i < n; i++) acc += (query[i] as number) * (data[offset + i] as number);
    return Math.fround(acc + a1 + a2 + a3);
  }
  if (distance === 'Euclid') {
    for (let i = 0; i < n; i++) {
      const d = (query[i] as number) - (data[offset + i] as number);
      acc += d * d;
    }
    return Math.fround(Math.sqrt(acc));
  }
  for (let i = 0; i < n; i++) acc += Math.abs((query[i] as number) - (data[offset + i] as number));
  return Math.fround(acc);
}

/** Shortest decimal that reads back as the same float32, so vectors print as Qdrant prints them. */
export function f32ToNumber(x: number): number {
  if (!Number.isFinite(x) || Number.isInteger(x)) return x;
  // Nine significant digits always round-trip a float32; round-tripping is monotonic in the digit count, so the
  // shortest is found by bisection.
  let lo = 1;
  let hi = 9;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (Math.fround(Number(x.toPrecision(mid))) === x) hi = mid;
    else lo = mid + 1;
  }
  return Number(x.toPrecision(lo));
}

export function denseToJson(data: Float32Array, offset: number, size: number): number[] {
  const out = new Array<number>(size);
  for (let i = 0; i < size; i++) out[i] = f32ToNumber(data[offset + i] as number);
  return out;
}

export function sparseToJson(vector: SparseVector): { indices: number[]; values: number[] } {
  return { indices: Array.from(vector.indices), values: Array.from(vector.values, f32ToNumber) };
}
