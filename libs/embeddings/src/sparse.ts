import { hash32 } from './hash.js';
import { tokenize } from './tokenize.js';
import type { SparseEncoder, SparseVector } from './types.js';

/** BM25 term-frequency saturation. */
const K1 = 1.2;
const B = 0.75;
/** A fixed average document length (tokens): chunks are bounded in size, so a constant serves well. */
const AVERAGE_LENGTH = 180;

/**
 * BM25-style sparse vectors. A document's weight for term t is the saturated, length-normalised term
 * frequency `tf·(k1+1) / (tf + k1·(1 − b + b·len/avglen))`; a query weighs each distinct term 1. The inverse
 * document frequency is left to Qdrant (sparse vector `modifier: "idf"`), which knows the collection.
 * A term's index is the stable 32-bit hash of its normalised token, so no vocabulary is stored anywhere.
 */
export function createSparseEncoder(): SparseEncoder {
  return {
    document(text) {
      const tokens = tokenize(text);
      const counts = termCounts(tokens);
      const norm = K1 * (1 - B + (B * tokens.length) / AVERAGE_LENGTH);
      return toSparse(counts, (tf) => (tf * (K1 + 1)) / (tf + norm));
    },
    query(text) {
      return toSparse(termCounts(tokenize(text)), () => 1);
    },
  };
}

function termCounts(tokens: string[]): Map<number, number> {
  // Counted by index: two tokens that collide share one dimension, as they would in Qdrant anyway.
  const counts = new Map<number, number>();
  for (const token of tokens) {
    const index = hash32(token);
    counts.set(index, (counts.get(index) ?? 0) + 1);
  }
  return counts;
}

function toSparse(counts: Map<number, number>, weight: (tf: number) => number): SparseVector {
  const indices = [...counts.keys()].sort((a, b) => a - b);
  return { indices, values: indices.map((index) => weight(counts.get(index) as number)) };
}
