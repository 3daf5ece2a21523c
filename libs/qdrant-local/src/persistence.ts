import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { type Collection, type StoredPoint, storedPoint } from './collection.js';
import { applyOp, type Collections, decodeOp, encodeOp, type Op } from './ops.js';
import type { PayloadIndex } from './payload-index.js';
import {
  frame,
  fsyncDir,
  LOG_MAGIC,
  type LogWriter,
  openLogWriter,
  readLog,
  SNAPSHOT_MAGIC,
  truncateLog,
} from './wal.js';

export interface PersistenceOptions {
  /**
   * Compact the log into a snapshot once it grows past this many bytes, and past the size of the last
   * snapshot: rewriting everything held costs in proportion to it, so a large data set is rewritten after as
   * much again has been written, not every `compactBytes` (at most about one byte rewritten per byte logged).
   */
  compactBytes?: number;
  /** Called with failures of background work (compaction); defaults to stderr. */
  onError?: (error: unknown) => void;
}

export interface Persistence {
  append(op: Op): Promise<void>;
  /** Writes a snapshot now and starts a new log (also runs by itself when the log grows large; see compactBytes). */
  compact(): Promise<void>;
  close(): Promise<void>;
}

const DEFAULT_COMPACT_BYTES = 64 * 1024 * 1024;
const SNAPSHOT_CHUNK = 512;
const walName = (gen: number) => `wal-${String(gen).padStart(8, '0')}.log`;
const snapshotName = (gen: number) => `snapshot-${String(gen).padStart(8, '0')}.bin`;

function generations(dir: string, prefix: string, suffix: string): number[] {
  return readdirSync(dir)
    .filter((f) => f.startsWith(prefix) && f.endsWith(suffix))
    .map((f) => Number(f.slice(prefix.length, -suffix.length)))
    .filter((n) => Number.isSafeInteger(n))
    .sort((a, b) => a - b);
}

/**
 * A collection's state as it was when a snapshot began, taken without copying its points: until each point is
 * encoded, a write to it first keeps a copy of it (`Collection.beforeWrite`), so the snapshot can be encoded a
 * slice at a time while the engine goes on serving and writing.
 */
interface Capture {
  /** The collection; its name and configuration never change. */
  c: Collection;
  nextOpId: number;
  indexes: { field: string; schema: PayloadIndex['schema'] }[];
  slots: number[];
  /** 1 for a slot still to be encoded. */
  pending: Uint8Array;
  /** Points written since the snapshot began, as they were before. */
  kept: Map<number, StoredPoint>;
  hook: (slot: number) => void;
}

function capture(collections: Collections): Capture[] {
  return [...collections.values()].map((c) => {
    const slots = [...c.idToSlot.values()];
    const pending = new Uint8Array(c.capacity);
    for (const slot of slots) pending[slot] = 1;
    const kept = new Map<number, StoredPoint>();
    const hook = (slot: number) => {
      if (pending[slot] === 1 && !kept.has(slot)) kept.set(slot, storedPoint(c, slot));
    };
    c.beforeWrite = hook;
    const indexes = [...c.indexes.values()].map(({ field, schema }) => ({ field, schema }));
    return { c, nextOpId: c.nextOpId, indexes, slots, pending, kept, hook };
  });
}

/**
 * Writes the captured state as framed operations that rebuild it (a snapshot is replayed exactly like a log),
 * SNAPSHOT_CHUNK points at a time, each slice handed to `write` as soon as it is encoded: the event loop runs
 * between slices, and no more than one slice is held in memory. Returns the bytes written.
 */
async function writeCaptures(
  captures: Capture[],
  write: (records: Buffer[]) => Promise<unknown>,
): Promise<number> {
  let records: Buffer[] = [];
  let bytes = 0;
  const add = (op: Op) => records.push(frame(encodeOp(op)));
  const flush = async () => {
    const slice = records;
    records = [];
    for (const record of slice) bytes += record.length;
    if (slice.length > 0) await write(slice);
  };
  for (const k of captures) {
    const name = k.c.name;
    add({ type: 'create_collection', name, config: k.c.config });
    for (let i = 0; i < k.slots.length; i += SNAPSHOT_CHUNK) {
      const slots = k.slots.slice(i, i + SNAPSHOT_CHUNK);
      const points = slots.map((slot) => k.kept.get(slot) ?? storedPoint(k.c, slot));
      for (const slot of slots) {
        k.pending[slot] = 0;
        k.kept.delete(slot);
      }
      add({ type: 'upsert', collection: name, opId: 0, points });
      await flush();
    }
    for (const index of k.indexes) {
      add({ type: 'create_index', collection: name, opId: 0, field: index.field, schema: index.schema });
    }
    if (k.nextOpId > 0) add({ type: 'upsert', collection: name, opId: k.nextOpId - 1, points: [] });
  }
  await flush();
  return bytes;
}

/** Refuses a data folder another live process holds; a lock left by a killed process is taken over. */
function acquireLock(dir: string): string {
  const path = join(dir, 'LOCK');
  if (existsSync(path)) {
    const pid = Number(readFileSync(path, 'utf8').trim());
    // Our own pid means another engine in this process still has the folder open (close() removes the lock).
    let alive = pid === process.pid;
    if (!alive && Number.isSafeInteger(pid) && pid > 0) {
      try {
        process.kill(pid, 0);
        alive = true;
      } catch {
        alive = false;
      }
    }
    if (alive) throw new Error(`data folder ${dir} is in use by process ${pid}`);
  }
  writeFileSync(path, String(process.pid));
  return path;
}

/**
 * Opens a data folder: loads the newest snapshot, replays every log written since (cutting off a record torn by a
 * crash), and returns the writer for new operations.
 */
export function openPersistence(
  dir: string,
  collections: Collections,
  options: PersistenceOptions = {},
): Persistence {
  mkdirSync(dir, { recursive: true });
  const lock = acquireLock(dir);
  const compactBytes = options.compactBytes ?? DEFAULT_COMPACT_BYTES;
  const onError =
    options.onError ?? ((error: unknown) => console.error('qdrant-local: compaction failed', error));
  for (const f of readdirSync(dir)) if (f.endsWith('.tmp')) rmSync(join(dir, f), { force: true });

  const snapshots = generations(dir, 'snapshot-', '.bin');
  const base = snapshots.at(-1) ?? 0;
  let snapshotBytes = 0;
  if (snapshots.length > 0) {
    snapshotBytes = statSync(join(dir, snapshotName(base))).size;
    for (const record of readLog(join(dir, snapshotName(base)), SNAPSHOT_MAGIC).records) {
      applyOp(collections, decodeOp(record));
    }
  }
  const logs = generations(dir, 'wal-', '.log').filter((g) => g >= base);
  let lastBytes = 0;
  for (const gen of logs) {
    const path = join(dir, walName(gen));
    const contents = readLog(path, LOG_MAGIC);
    for (const record of contents.records) applyOp(collections, decodeOp(record));
    if (contents.torn) truncateLog(path, contents.validBytes);
    lastBytes = contents.validBytes;
  }
  let gen = Math.max(base, logs.at(-1) ?? 0);
  let writer: LogWriter = openLogWriter(join(dir, walName(gen)), LOG_MAGIC, logs.length > 0 ? lastBytes : 0);
  fsyncDir(dir);
  removeOlderThan(dir, base);

  let compacting: Promise<void> | undefined;

  async function writeSnapshot(snapshotGen: number, captures: Capture[], previous: LogWriter): Promise<void> {
    let written = 0;
    try {
      await previous.close();
      const tmp = join(dir, `${snapshotName(snapshotGen)}.tmp`);
      const file = await open(tmp, 'w');
      try {
        await file.write(SNAPSHOT_MAGIC);
        written = SNAPSHOT_MAGIC.length + (await writeCaptures(captures, (records) => file.writev(records)));
        await file.sync();
      } finally {
        await file.close();
      }
      renameSync(tmp, join(dir, snapshotName(snapshotGen)));
    } finally {
      // Whatever stopped the snapshot, writes no longer keep copies for it.
      for (const k of captures) if (k.c.beforeWrite === k.hook) k.c.beforeWrite = undefined;
    }
    fsyncDir(dir);
    removeOlderThan(dir, snapshotGen);
    snapshotBytes = written;
  }

  function compact(): Promise<void> {
    if (compacting) return compacting;
    // Switching logs and capturing the state happen in one synchronous step, so the snapshot holds exactly the
    // operations of the older logs and none of the new one.
    const previous = writer;
    gen += 1;
    writer = openLogWriter(join(dir, walName(gen)), LOG_MAGIC, 0);
    fsyncDir(dir);
    compacting = writeSnapshot(gen, capture(collections), previous).finally(() => {
      compacting = undefined;
    });
    return compacting;
  }

  return {
    append(op) {
      const done = writer.append(encodeOp(op));
      if (writer.bytes > Math.max(compactBytes, snapshotBytes) && !compacting) compact().catch(onError);
      return done;
    },
    compact,
    async close() {
      await compacting?.catch(() => undefined);
      await writer.close();
      rmSync(lock, { force: true });
    },
  };
}

function removeOlderThan(dir: string, gen: number): void {
  for (const old of generations(dir, 'snapshot-', '.bin')) {
    if (old < gen) rmSync(join(dir, snapshotName(old)), { force: true });
  }
  for (const old of generations(dir, 'wal-', '.log')) {
    if (old < gen) rmSync(join(dir, walName(old)), { force: true });
  }
}

/** Total bytes of the folder's logs and snapshots (for tests and diagnostics). */
export function dataBytes(dir: string): number {
  return readdirSync(dir).reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
}
