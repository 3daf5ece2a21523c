import { hash32 } from './hash.js';
import { tokenize } from './tokenize.js';
import type { DenseEmbedder } from './types.js';

const WORD_WEIGHT = 1;
const BIGRAM_WEIGHT = 0.5;
const NGRAM_WEIGHT = 0.35;
const NGRAM_SIZES = [3, 4, 5] as const;
const SIGN_SEED = 0x9747b28c;
const YIELD_EVERY = 32;

/**
 * The built-in deterministic embedder: no model, no network. Each text becomes a bag of hashed features
 * (words, word pairs, and character 3- to 5-grams of each word with boundary marks, so "ingest" and
 * "ingestion" share most of their features), folded into `dimension` buckets with a hashed sign (the
 * "hashing trick"), weighted by sublinear term frequency and L2-normalised, so Cosine similarity measures
 * shared vocabulary and word shape. Good enough for tests and small deployments; not a semantic model.
 */
export function createLocalEmbedder(options: { dimension: number }): DenseEmbedder {
  const { dimension } = options;
  if (!Number.isInteger(dimension) || dimension < 8 || dimension > 65_536) {
    throw new RangeError(`local embedder dimension must be an integer in 8..65536, got ${dimension}`);
  }
  return {
    id: `local-hash-v1-${dimension}`,
    dimension,
    async embed(texts, embedOptions = {}) {
      const vectors: number[][] = [];
      for (const [i, text] of texts.entries()) {
        embedOptions.signal?.throwIfAborted();
        // Yield now and then: a large batch must not starve timers (job-lock renewals, heartbeats).
        if (i > 0 && i % YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve));
        vectors.push(embedOne(text, dimension));
      }
      return vectors;
    },
  };
}

function features(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  const add = (feature: string, weight: number) => counts.set(feature, (counts.get(feature) ?? 0) + weight);
  const words = tokenize(text);
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string;
    add(`w:${word}`, WORD_WEIGHT);
    if (i + 1 < words.length) add(`b:${word} ${words[i + 1]}`, BIGRAM_WEIGHT);
    const marked = `<${word}>`;
    for (const n of NGRAM_SIZES) {
      for (let start = 0; start + n <= marked.length; start++)
        add(`c:${marked.slice(start, start + n)}`, NGRAM_WEIGHT);
    }
  }
  return counts;
}

/**
 * Writes the embedding of `text` into `out` from `offset` (`dimension` numbers): in place, so a batch can
 * fill one buffer (threads.ts moves it between threads without copying).
 */
export function embedInto(text: string, dimension: number, out: Float64Array, offset = 0): void {
  const vector = out.subarray(offset, offset + dimension);
  vector.fill(0);
  for (const [feature, weight] of features(text)) {
    const h = hash32(feature);
    const sign = hash32(feature, SIGN_SEED) & 1 ? 1 : -1;
    // Sublinear frequency: a word repeated ten times is not ten times as important.
    vector[h % dimension] = (vector[h % dimension] as number) + sign * Math.log1p(weight);
  }
  let norm = 0;
  for (const value of vector) norm += value * value;
  norm = Math.sqrt(norm);
  // An empty text has no features: a unit vector on a fixed axis rather than NaNs or zeros, which Cosine
  // collections refuse or rank arbitrarily.
  if (norm === 0) {
    vector[0] = 1;
    return;
  }
  for (let i = 0; i < dimension; i++) vector[i] = (vector[i] as number) / norm;
}

function embedOne(text: string, dimension: number): number[] {
  const vector = new Float64Array(dimension);
  embedInto(text, dimension, vector);
  return Array.from(vector);
}
