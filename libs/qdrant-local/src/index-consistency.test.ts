import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createRandomCollection, populate, random } from '../test/random-collection.js';
import { slotsOf } from './bitset.js';
import type { Collection } from './collection.js';
import { type Engine, openEngine } from './engine.js';
import type { PointId } from './ids.js';
import { getValues } from './json-path.js';
import { accepts } from './payload-index.js';
import { postingsSlots } from './postings.js';
import { documentFrequency } from './sparse-store.js';

const dirs: string[] = [];
const engines: Engine[] = [];
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function open(dataDir: string, compactBytes?: number): Engine {
  const engine = openEngine({ dataDir, ...(compactBytes ? { compactBytes } : {}) });
  engines.push(engine);
  return engine;
}

const sortIds = (ids: PointId[]) => ids.map(String).sort();

/** What each equality index holds, by value and point id, read from the index. */
function indexState(c: Collection) {
  const out: Record<string, Record<string, string[]>> = {};
  for (const [field, index] of c.indexes) {
    if (!index.values) continue;
    const values: Record<string, string[]> = {};
    for (const [value, postings] of index.values) {
      values[JSON.stringify(value)] = sortIds(postingsSlots(postings).map((slot) => c.ids[slot] as PointId));
    }
    out[field] = values;
  }
  return out;
}

/** The same, worked out from the payloads alone. */
function expectedIndexState(c: Collection) {
  const out: Record<string, Record<string, string[]>> = {};
  for (const [field, index] of c.indexes) {
    if (!index.values) continue;
    const values: Record<string, PointId[]> = {};
    for (const [id, slot] of c.idToSlot) {
      const held = getValues(c.payloads[slot], field).flatMap((v) => (Array.isArray(v) ? v : [v]));
      for (const value of new Set(held.filter((v) => accepts(index.schema.type, v)))) {
        const key = JSON.stringify(value);
        values[key] = [...(values[key] ?? []), id];
      }
    }
    out[field] = Object.fromEntries(Object.entries(values).map(([v, ids]) => [v, sortIds(ids)]));
  }
  return out;
}

/** Each sparse vector's postings as (id, weight) per dimension, read from the inverted index. */
function sparseState(c: Collection) {
  const out: Record<string, Record<number, [string, number][]>> = {};
  for (const [name, store] of c.sparse) {
    const dims: Record<number, [string, number][]> = {};
    for (const [dim, list] of store.postings) {
      const entries: [string, number][] = [];
      for (let e = 0; e < list.length; e++) {
        entries.push([String(c.ids[list.slots[e] as number]), list.weights[e] as number]);
      }
      dims[dim] = entries.sort((a, b) => (a[0] < b[0] ? -1 : 1));
    }
    out[name] = dims;
  }
  return out;
}

function expectedSparseState(c: Collection) {
  const out: Record<string, Record<number, [string, number][]>> = {};
  for (const [name, store] of c.sparse) {
    const dims: Record<number, [string, number][]> = {};
    for (const [id, slot] of c.idToSlot) {
      const v = store.vectors[slot];
      v?.indices.forEach((dim, j) => {
        dims[dim] = [...(dims[dim] ?? []), [String(id), v.values[j] as number]];
      });
    }
    for (const entries of Object.values(dims)) entries.sort((a, b) => (a[0] < b[0] ? -1 : 1));
    out[name] = dims;
  }
  return out;
}

/** Every derived structure agrees with the stored points; returns the state by point id. */
function checkConsistent(c: Collection) {
  expect(slotsOf(c.live)).toEqual([...c.idToSlot.values()].sort((a, b) => a - b));
  const index = indexState(c);
  expect(index).toEqual(expectedIndexState(c));
  const sparse = sparseState(c);
  expect(sparse).toEqual(expectedSparseState(c));
  for (const store of c.sparse.values()) {
    const live = [...c.idToSlot.values()].filter((slot) => store.vectors[slot]);
    expect(store.count).toBe(live.length);
    for (const slot of live) {
      const vector = store.vectors[slot];
      vector?.indices.forEach((dim, j) => {
        const at = store.positions[slot]?.[j] as number;
        expect(store.postings.get(dim)?.slots[at]).toBe(slot);
        expect(documentFrequency(store, dim)).toBe(store.postings.get(dim)?.length);
      });
    }
  }
  expect(c.selections.size).toBe(0);
  return { ids: sortIds([...c.idToSlot.keys()]), index, sparse };
}

describe('search structures', () => {
  it('stay consistent through mixed writes, log replay, snapshots and collection deletion', async () => {
    const rnd = random(21);
    const dir = mkdtempSync(join(tmpdir(), 'qdrant-local-structures-'));
    dirs.push(dir);
    let engine = open(dir);
    await createRandomCollection(engine, 'c');
    await populate(engine, 'c', rnd, 1200, 150, 1400);
    const live = checkConsistent(engine.collection('c'));
    expect(Object.keys(live.index)).not.toHaveLength(0);
    await engine.close();

    engine = open(dir);
    expect(checkConsistent(engine.collection('c'))).toEqual(live);
    await engine.compact();
    await populate(engine, 'c', rnd, 0, 100, 1400);
    const compacted = checkConsistent(engine.collection('c'));
    await engine.close();

    engine = open(dir);
    expect(checkConsistent(engine.collection('c'))).toEqual(compacted);
    await engine.commit({ type: 'delete_collection', name: 'c' });
    await createRandomCollection(engine, 'c');
    const fresh = checkConsistent(engine.collection('c'));
    expect(fresh.ids).toEqual([]);
    expect(Object.values(fresh.index).every((values) => Object.keys(values).length === 0)).toBe(true);
    await engine.close();
    expect(checkConsistent(open(dir).collection('c'))).toEqual(fresh);
  });
});
