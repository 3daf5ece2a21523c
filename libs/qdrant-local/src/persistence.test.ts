import {
  appendFileSync,
  copyFileSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { StoredPoint } from './collection.js';
import { parseCreateCollection } from './config.js';
import { type Engine, openEngine } from './engine.js';
import { decodeOp, encodeOp, type Op } from './ops.js';

const dirs: string[] = [];
const engines: Engine[] = [];
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.close()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'qdrant-local-unit-'));
  dirs.push(dir);
  return dir;
}

function open(dataDir: string, compactBytes?: number): Engine {
  const engine = openEngine({ dataDir, ...(compactBytes ? { compactBytes } : {}) });
  engines.push(engine);
  return engine;
}

const config = parseCreateCollection({
  vectors: { v: { size: 3, distance: 'Dot' } },
  sparse_vectors: { s: {} },
});

function point(id: number): StoredPoint {
  return {
    id,
    payload: { id, text: `point ${id}` },
    dense: { v: Float32Array.from([id, id / 2, -id]) },
    sparse: id % 2 ? { s: { indices: Uint32Array.from([1, id]), values: Float32Array.from([0.5, id]) } } : {},
  };
}

async function fill(engine: Engine, from: number, to: number): Promise<void> {
  const c = engine.collection('c');
  for (let id = from; id < to; id++) {
    await engine.commit({ type: 'upsert', collection: 'c', opId: c.nextOpId, points: [point(id)] });
  }
}

function state(engine: Engine) {
  const c = engine.collection('c');
  return [...c.idToSlot]
    .sort((a, b) => Number(a[0]) - Number(b[0]))
    .map(([id, slot]) => ({
      id,
      payload: c.payloads[slot],
      v: Array.from(c.dense.get('v')?.data.subarray(slot * 3, slot * 3 + 3) ?? []),
      s: c.sparse.get('s')?.vectors[slot],
    }));
}

describe('operation encoding', () => {
  it('round-trips vectors through the binary tail', () => {
    const op: Op = { type: 'upsert', collection: 'c', opId: 4, points: [point(1), point(2)] };
    expect(decodeOp(encodeOp(op))).toEqual(op);
  });
});

describe('persistence', () => {
  it('replays the log after a restart', async () => {
    const dir = tempDir();
    const engine = open(dir);
    await engine.commit({ type: 'create_collection', name: 'c', config });
    await fill(engine, 0, 20);
    await engine.commit({ type: 'delete_points', collection: 'c', opId: 20, ids: [3] });
    const before = state(engine);
    await engine.close();
    expect(state(open(dir))).toEqual(before);
  });

  it('drops a record torn by a crash and keeps appending after the last good one', async () => {
    const dir = tempDir();
    const engine = open(dir);
    await engine.commit({ type: 'create_collection', name: 'c', config });
    await fill(engine, 0, 5);
    const before = state(engine);
    await engine.close();
    const [log] = readdirSync(dir).filter((f) => f.startsWith('wal-'));
    const path = join(dir, log as string);
    const goodSize = statSync(path).size;
    appendFileSync(path, Buffer.from([200, 0, 0, 0, 1, 2, 3, 4, 5, 6]));
    const reopened = open(dir);
    expect(state(reopened)).toEqual(before);
    expect(statSync(path).size).toBe(goodSize);
    await fill(reopened, 5, 7);
    const after = state(reopened);
    await reopened.close();
    expect(state(open(dir))).toEqual(after);
  });

  it('compacts the log into a snapshot and loads snapshot plus newer log', async () => {
    const dir = tempDir();
    const engine = open(dir, 2_000);
    await engine.commit({ type: 'create_collection', name: 'c', config });
    await fill(engine, 0, 120);
    await engine.compact();
    await fill(engine, 120, 130);
    const before = state(engine);
    const nextOpId = engine.collection('c').nextOpId;
    await engine.close();
    writeFileSync(join(dir, 'snapshot-99999999.bin.tmp'), 'partial');
    const files = readdirSync(dir);
    expect(files.filter((f) => f.startsWith('snapshot-') && f.endsWith('.bin'))).toHaveLength(1);
    const reopened = open(dir);
    expect(state(reopened)).toEqual(before);
    expect(reopened.collection('c').nextOpId).toBe(nextOpId);
    expect(readdirSync(dir).some((f) => f.endsWith('.tmp'))).toBe(false);
  });

  it('compacts a large data set again only once as much as its snapshot has been logged', async () => {
    const dir = tempDir();
    const engine = open(dir, 2_000);
    await engine.commit({ type: 'create_collection', name: 'c', config });
    await fill(engine, 0, 200);
    await engine.compact();
    const files = () => readdirSync(dir).sort();
    const [snapshot] = files().filter((f) => f.startsWith('snapshot-'));
    const snapshotBytes = statSync(join(dir, snapshot as string)).size;
    const logBytes = () => {
      const logs = files().filter((f) => f.startsWith('wal-'));
      expect(logs).toHaveLength(1);
      return statSync(join(dir, logs[0] as string)).size;
    };
    // Past compactBytes, but not yet past the snapshot: the same snapshot and log stay.
    let id = 200;
    while (logBytes() < snapshotBytes / 2) await fill(engine, id, ++id);
    expect(logBytes()).toBeGreaterThan(2_000);
    expect(files().filter((f) => f.startsWith('snapshot-'))).toEqual([snapshot]);
    // Past the snapshot's size: the next write starts a new log and a new snapshot.
    const before = files();
    for (let writes = 0; files().join() === before.join(); writes++) {
      expect(writes).toBeLessThan(1_000);
      await fill(engine, id, ++id);
    }
    const expected = state(engine);
    await engine.close();
    expect(files().filter((f) => f.startsWith('snapshot-'))).not.toEqual([snapshot]);
    expect(state(open(dir))).toEqual(expected);
  });

  it('keeps the state of its start in a snapshot while writes go on during it', async () => {
    const dir = tempDir();
    const engine = open(dir);
    await engine.commit({ type: 'create_collection', name: 'c', config });
    await engine.commit({
      type: 'create_index',
      collection: 'c',
      opId: 0,
      field: 'text',
      schema: { type: 'keyword' },
    });
    const c = engine.collection('c');
    const batch = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => point(from + i));
    await engine.commit({ type: 'upsert', collection: 'c', opId: c.nextOpId, points: batch(0, 3_000) });
    const atStart = state(engine);

    const compaction = engine.compact();
    // Applied at once while the snapshot is still being encoded: points early and late in it replaced,
    // deleted (their slots taken again by new points) and given new payloads.
    const writes: Promise<void>[] = [];
    const commit = (op: Record<string, unknown>) =>
      writes.push(engine.commit({ collection: 'c', opId: c.nextOpId, ...op } as Op));
    commit({ type: 'upsert', points: [{ ...point(5), payload: { id: 5, text: 'changed' } }] });
    commit({ type: 'delete_points', ids: [7, 2_990] });
    commit({ type: 'upsert', points: batch(5_000, 5_002) });
    commit({ type: 'set_payload', ids: [1, 2_999], payload: { extra: true } });
    commit({ type: 'upsert', points: [{ ...point(2_500), dense: { v: Float32Array.from([9, 9, 9]) } }] });
    await new Promise((resolve) => setImmediate(resolve));
    commit({ type: 'clear_payload', ids: [2_998] });
    await Promise.all([compaction, ...writes]);
    const atEnd = state(engine);
    await engine.close();

    const [snapshot] = readdirSync(dir).filter((f) => f.startsWith('snapshot-'));
    const onlySnapshot = tempDir();
    copyFileSync(join(dir, snapshot as string), join(onlySnapshot, snapshot as string));
    const fromSnapshot = open(onlySnapshot);
    expect(state(fromSnapshot)).toEqual(atStart);
    expect([...fromSnapshot.collection('c').indexes.keys()]).toEqual(['text']);
    expect(state(open(dir))).toEqual(atEnd);
    expect(atEnd).not.toEqual(atStart);
  });

  it('refuses a data folder that is already open', () => {
    const dir = tempDir();
    open(dir);
    expect(() => openEngine({ dataDir: dir })).toThrow(/in use/);
  });
});
