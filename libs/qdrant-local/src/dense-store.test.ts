import { describe, expect, it } from 'vitest';
import { random } from '../test/random-collection.js';
import { newBits, setBit } from './bitset.js';
import type { Distance } from './config.js';
import {
  createDenseStore,
  type DenseStore,
  denseSearch,
  growDenseStore,
  KERNEL_MIN_FLOATS,
} from './dense-store.js';
import { createTopK } from './ranking.js';
import { denseScore, normaliseInPlace } from './vectors.js';

const rnd = random(3);

function filled(size: number, distance: Distance, capacity: number): DenseStore {
  const store = createDenseStore({ size, distance, extra: {} }, capacity);
  for (let slot = 0; slot < capacity; slot++) {
    const v = Float32Array.from({ length: size }, () => (rnd() * 2 - 1) * 10 ** Math.floor(rnd() * 6 - 3));
    store.data.set(distance === 'Cosine' ? normaliseInPlace(v) : v, slot * size);
    store.has[slot] = rnd() < 0.9 ? 1 : 0;
  }
  return store;
}

/** Every slot's score as denseSearch reports it (no limit). */
function searchAll(store: DenseStore, query: Float32Array, capacity: number): Map<number, number> {
  const bits = newBits(capacity);
  for (let slot = 0; slot < capacity; slot++) if (slot % 5 !== 1) setBit(bits, slot);
  const scores = new Map<number, number>();
  denseSearch(
    store,
    query,
    bits,
    { push: (slot, score) => scores.set(slot, score), result: () => [] },
    undefined,
  );
  return scores;
}

describe('dense store', () => {
  it('scores with the WebAssembly kernel exactly as the JavaScript loop does, for any dimension', () => {
    for (const size of [1, 2, 3, 4, 5, 7, 8, 13, 66, 384]) {
      for (const distance of ['Cosine', 'Dot'] as const) {
        const capacity = Math.ceil(KERNEL_MIN_FLOATS / size) + 3000;
        const store = filled(size, distance, capacity);
        expect(store.kernel, `${size}`).toBeDefined();
        const query = Float32Array.from({ length: size }, () => rnd() * 2 - 1);
        const scores = searchAll(store, query, capacity);
        const wrong: number[] = [];
        let expected = 0;
        for (let slot = 0; slot < capacity; slot++) {
          if (slot % 5 === 1 || store.has[slot] !== 1) {
            if (scores.has(slot)) wrong.push(slot);
            continue;
          }
          expected++;
          if (scores.get(slot) !== denseScore(distance, query, store.data, slot * size)) wrong.push(slot);
        }
        expect(wrong, `${size}-d ${distance}`).toEqual([]);
        expect(scores.size).toBe(expected);
      }
    }
  });

  it('keeps every vector when it grows into and within WebAssembly memory', () => {
    const size = 40;
    const store = filled(size, 'Dot', 16);
    const copy = store.data.slice();
    expect(store.kernel).toBeUndefined();
    for (let capacity = 32; capacity <= 8192; capacity *= 2) growDenseStore(store, capacity);
    expect(store.kernel).toBeDefined();
    expect(store.data.length).toBe(8192 * size);
    expect(store.data.subarray(0, copy.length)).toEqual(copy);
    expect(Array.from(store.has.subarray(16))).toEqual(new Array(8192 - 16).fill(0));
  });

  it('keeps the best points in order, honours the threshold and uses the JavaScript loop for Euclid', () => {
    const capacity = 3000;
    const store = filled(30, 'Euclid', capacity);
    const query = Float32Array.from({ length: 30 }, () => rnd());
    const all = [...searchAll(store, query, capacity)].map(([slot, score]) => ({ slot, score }));
    all.sort((a, b) => a.score - b.score || a.slot - b.slot);
    const threshold = all[100]?.score as number;
    const bits = newBits(capacity);
    for (let slot = 0; slot < capacity; slot++) if (slot % 5 !== 1) setBit(bits, slot);
    const top = createTopK(40, true);
    denseSearch(store, query, bits, top, threshold);
    expect(top.result()).toEqual(all.slice(0, 40));
    const under = createTopK(500, true);
    denseSearch(store, query, bits, under, threshold);
    expect(under.result()).toEqual(all.filter((p) => p.score <= threshold));
  });
});
