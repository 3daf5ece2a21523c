import type { Collection } from './collection.js';
import { collectionNotFound } from './errors.js';
import { applyOp, type Collections, type Op } from './ops.js';
import { openPersistence, type Persistence, type PersistenceOptions } from './persistence.js';

export interface EngineOptions extends PersistenceOptions {
  /** Folder for the log and snapshots; without it the engine keeps everything in memory only. */
  dataDir?: string;
}

export interface Engine {
  collections: Collections;
  /** Returns the collection or throws Qdrant's 404. */
  collection(name: string): Collection;
  /**
   * Applies a validated operation and logs it. The returned promise settles when the operation is durable;
   * the change is visible to readers at once.
   */
  commit(op: Op): Promise<void>;
  /** Snapshot now (no-op in memory). */
  compact(): Promise<void>;
  close(): Promise<void>;
}

export function openEngine(options: EngineOptions = {}): Engine {
  const collections: Collections = new Map();
  const persistence: Persistence | undefined = options.dataDir
    ? openPersistence(options.dataDir, collections, options)
    : undefined;
  let closed = false;
  return {
    collections,
    collection(name) {
      const c = collections.get(name);
      if (!c) throw collectionNotFound(name);
      return c;
    },
    commit(op) {
      if (closed) return Promise.reject(new Error('engine is closed'));
      applyOp(collections, op);
      return persistence ? persistence.append(op) : Promise.resolve();
    },
    compact() {
      return persistence ? persistence.compact() : Promise.resolve();
    },
    async close() {
      if (closed) return;
      closed = true;
      await persistence?.close();
    },
  };
}
