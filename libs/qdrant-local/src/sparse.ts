import { documentFrequency, type SparseStore } from './sparse-store.js';
import type { SparseVector } from './vectors.js';

/**
 * Qdrant's IDF for sparse vectors with `modifier: "idf"` (lib/segment/src/data_types/query_context.rs,
 * `fancy_idf`): ln((n - df + 0.5) / (df + 0.5) + 1), n = points holding this sparse vector, df = points holding
 * the dimension. The query's weights are multiplied by it; stored weights are left as they are.
 */
export function idf(n: number, df: number): number {
  return Math.log((n - df + 0.5) / (df + 0.5) + 1);
}

export function idfWeights(store: SparseStore, query: SparseVector): SparseVector {
  const values = new Float32Array(query.values.length);
  for (let i = 0; i < query.values.length; i++) {
    const df = documentFrequency(store, query.indices[i] as number);
    values[i] = (query.values[i] as number) * idf(store.count, df);
  }
  return { indices: query.indices, values };
}

/** Dot product over shared dimensions; undefined when none is shared (Qdrant returns only overlapping points). */
export function sparseScore(query: SparseVector, stored: SparseVector): number | undefined {
  let i = 0;
  let j = 0;
  let score = 0;
  let overlap = false;
  const qi = query.indices;
  const si = stored.indices;
  while (i < qi.length && j < si.length) {
    const a = qi[i] as number;
    const b = si[j] as number;
    if (a === b) {
      score += (query.values[i] as number) * (stored.values[j] as number);
      overlap = true;
      i++;
      j++;
    } else if (a < b) {
      i++;
    } else {
      j++;
    }
  }
  return overlap ? Math.fround(score) : undefined;
}
