import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createRandomCollection,
  DIM,
  pick,
  populate,
  type Rnd,
  random,
  randomFilter,
} from '../test/random-collection.js';
import { matching, referenceQuery } from '../test/reference-query.js';
import { type Collection, sortedIds } from './collection.js';
import { type Engine, openEngine } from './engine.js';
import { parseFilter } from './filter.js';
import { comparePointIds, type PointId } from './ids.js';
import { executeQuery } from './query-exec.js';
import { parseQueryRequest } from './query-parse.js';
import type { Scored } from './ranking.js';
import { countMatching, matchingIds, parseSelection, scrollSlots } from './select.js';

const dirs: string[] = [];
const engines: Engine[] = [];
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function open(dataDir?: string): Engine {
  const engine = openEngine(dataDir ? { dataDir } : {});
  engines.push(engine);
  return engine;
}

const POINTS = 2500;
const MAX_ID = POINTS + 200;
const int = (rnd: Rnd, n: number) => Math.floor(rnd() * n);

function sparseQuery(rnd: Rnd) {
  const indices = [...new Set(Array.from({ length: 1 + int(rnd, 4) }, () => int(rnd, 40)))];
  return { indices, values: indices.map(() => rnd() + 0.1) };
}

function nearest(rnd: Rnd, using: string, liveId: () => number): Record<string, unknown> {
  if (rnd() < 0.1) return { query: liveId(), using };
  if (using === 'd') return { query: Array.from({ length: DIM }, () => rnd() * 2 - 1), using };
  if (using === 'e') return { query: Array.from({ length: 5 }, () => Math.round(rnd() * 8) / 4), using };
  return { query: sparseQuery(rnd), using };
}

/** A random Query API request: nearest searches on every vector, fusion, rescoring, plain scroll, thresholds. */
function randomRequest(rnd: Rnd, c: Collection): Record<string, unknown> {
  const ids = [...c.idToSlot.keys()];
  const liveId = () => pick(rnd, ids) as number;
  const filter = () => (rnd() < 0.8 ? { filter: randomFilter(rnd, MAX_ID) } : {});
  const limit = 1 + int(rnd, 40);
  const base = { limit, ...filter(), ...(rnd() < 0.2 ? { offset: int(rnd, 5) } : {}) };
  const prefetch = (using: string) => ({
    ...nearest(rnd, using, liveId),
    ...filter(),
    limit: 5 + int(rnd, 60),
  });
  const kind = int(rnd, 6);
  if (kind === 0) return { ...base, ...nearest(rnd, pick(rnd, ['d', 'e', 's', 't']), liveId) };
  if (kind === 1) return { ...base, ...nearest(rnd, 'd', liveId), score_threshold: rnd() * 0.4 };
  if (kind === 2) return { ...base, ...nearest(rnd, 'e', liveId), score_threshold: 2 + rnd() * 3 };
  if (kind === 3) {
    const fusion = rnd() < 0.7 ? 'rrf' : 'dbsf';
    return {
      ...base,
      prefetch: [prefetch('d'), prefetch('s'), prefetch('e')].slice(0, 2 + int(rnd, 2)),
      query: { fusion },
    };
  }
  if (kind === 4) return { ...base, prefetch: [prefetch('s'), prefetch('t')], ...nearest(rnd, 'd', liveId) };
  return base;
}

type Outcome<T> = { result: T } | { error: string };

function outcome<T = Scored[]>(run: () => T): Outcome<T> {
  try {
    return { result: run() };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/** The engine's answer equals the reference's, and so does a second run (served by the selection cache). */
function check(c: Collection, raw: Record<string, unknown>): boolean {
  const request = parseQueryRequest(raw);
  const expected = outcome(() => referenceQuery(c, request));
  expect(
    outcome(() => executeQuery(c, request)),
    JSON.stringify(raw),
  ).toEqual(expected);
  expect(
    outcome(() => executeQuery(c, request)),
    JSON.stringify(raw),
  ).toEqual(expected);
  return 'result' in expected && expected.result.length > 0;
}

/**
 * Rounds of random writes, each followed by the same few requests (fewer filters than the selection cache
 * holds, so a selection cached before the writes would be used if writes did not drop it), then fresh random
 * requests; returns how many answers were non-empty.
 */
async function compareUnderWrites(engine: Engine, rnd: Rnd, rounds: number, fresh: number): Promise<number> {
  const c = engine.collection('c');
  const fixed = Array.from({ length: 16 }, () => randomRequest(rnd, c));
  let answered = 0;
  for (let round = 0; round < rounds; round++) {
    if (round > 0) await populate(engine, 'c', rnd, 0, 15, MAX_ID);
    for (const raw of fixed) if (check(c, raw)) answered++;
  }
  for (let q = 0; q < fresh; q++) if (check(c, randomRequest(rnd, c))) answered++;
  return answered;
}

describe('optimised queries against the reference evaluation', () => {
  it('give the same points, scores and order on a randomised collection under mixed writes', async () => {
    const rnd = random(7);
    const engine = open();
    await createRandomCollection(engine, 'c');
    await populate(engine, 'c', rnd, POINTS, 0, MAX_ID);
    // The 66-d store is large enough to be scored by the WebAssembly kernel, the 5-d one is not.
    expect(engine.collection('c').dense.get('d')?.kernel).toBeDefined();
    expect(engine.collection('c').dense.get('e')?.kernel).toBeUndefined();
    expect(await compareUnderWrites(engine, rnd, 8, 200)).toBeGreaterThan(150);
  });

  it('give the same answers after a restart from the log and after a snapshot', async () => {
    const rnd = random(11);
    const dir = mkdtempSync(join(tmpdir(), 'qdrant-local-reference-'));
    dirs.push(dir);
    let engine = open(dir);
    await createRandomCollection(engine, 'c');
    await populate(engine, 'c', rnd, 1500, 80, MAX_ID);
    const raws = Array.from({ length: 60 }, () => randomRequest(rnd, engine.collection('c')));
    const answers = (e: Engine) =>
      raws.map((raw) => outcome(() => executeQuery(e.collection('c'), parseQueryRequest(raw))));
    const before = answers(engine);
    await engine.close();
    engine = open(dir);
    // Replaying the log rebuilds the same slots, so the answers are identical.
    expect(answers(engine)).toEqual(before);
    await engine.compact();
    await populate(engine, 'c', rnd, 0, 40, MAX_ID);
    await engine.close();
    engine = open(dir);
    expect(await compareUnderWrites(engine, rnd, 3, 80)).toBeGreaterThan(60);
  });

  it('count, scroll and resolve filters to the same points as the reference', async () => {
    const rnd = random(13);
    const engine = open();
    await createRandomCollection(engine, 'c');
    await populate(engine, 'c', rnd, 2000, 100, MAX_ID);
    const c = engine.collection('c');
    let nonEmpty = 0;
    for (let q = 0; q < 200; q++) {
      const raw = randomFilter(rnd, MAX_ID);
      const expected = outcome(() => matching(c, parseFilter(raw)));
      if ('error' in expected) {
        expect(() => parseSelection(c, raw)).toThrow(expected.error);
        continue;
      }
      const ids = expected.result.map((slot) => c.ids[slot] as PointId).sort(comparePointIds);
      if (ids.length > 0) nonEmpty++;
      const selection = parseSelection(c, raw);
      expect(countMatching(c, selection)).toBe(ids.length);
      expect(matchingIds(c, selection).sort(comparePointIds)).toEqual(ids);
      const offset = rnd() < 0.5 ? undefined : pick(rnd, sortedIds(c));
      const limit = 1 + Math.floor(rnd() * 30);
      const from = offset === undefined ? ids : ids.filter((id) => comparePointIds(id, offset) >= 0);
      const page = scrollSlots(c, selection, offset, limit);
      expect(page.slots.map((slot) => c.ids[slot])).toEqual(from.slice(0, limit));
      expect(page.next).toBe(from[limit]);
    }
    expect(nonEmpty).toBeGreaterThan(100);
  });
});
