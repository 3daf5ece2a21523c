import { Worker } from 'node:worker_threads';
import { createLocalEmbedder } from './local.js';
import type { DenseEmbedder } from './types.js';

/** A batch sent to a thread of the pool. */
export interface ThreadRequest {
  id: number;
  dimension: number;
  texts: string[];
}

/** A thread's answer: the batch's vectors one after another, or why it failed. */
export type ThreadReply = { id: number; vectors: Float64Array } | { id: number; error: string };

interface Pending {
  count: number;
  resolve(vectors: number[][]): void;
  reject(error: Error): void;
}

interface Thread {
  worker: Worker;
  pending: Map<number, Pending>;
}

/**
 * Where the worker runs from: the compiled `local-worker.js` beside this module, or, when this module is
 * the TypeScript source (tests, benchmarks), `local-worker.ts` loaded through tsx.
 */
function startWorker(): Worker {
  const source = import.meta.url.endsWith('.ts');
  const url = new URL(`./local-worker.${source ? 'ts' : 'js'}`, import.meta.url);
  // None of the process's own flags: its preloads (telemetry) are not the thread's business.
  const options = { execArgv: [] };
  if (!source) return new Worker(url, options);
  const boot = `const { tsImport } = await import('tsx/esm/api'); await tsImport(${JSON.stringify(url.href)}, ${JSON.stringify(import.meta.url)});`;
  return new Worker(boot, { ...options, eval: true });
}

/**
 * The built-in local embedder (local.ts) on `threads` worker threads: the same vectors, computed off the
 * calling thread, so a service embedding large batches keeps its event loop free for its other work
 * (network, job locks, heartbeats) and uses more than one core. Each batch goes whole to the thread with the
 * fewest batches waiting; a thread that dies fails its batches (the caller's retries take over) and is
 * replaced on the next call. `close()` ends the threads; a later call starts them again.
 */
export function createThreadedLocalEmbedder(options: { dimension: number; threads: number }): DenseEmbedder {
  const { dimension, threads } = options;
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
    throw new RangeError(`embedding threads must be an integer in 1..64, got ${threads}`);
  }
  // Validates the dimension as the in-process embedder does, and names the vectors alike: they are the same.
  const local = createLocalEmbedder({ dimension });
  const pool: (Thread | undefined)[] = new Array(threads).fill(undefined);
  let nextId = 0;

  /** Takes batch `id` off the thread's list; a thread left with none no longer keeps the process alive. */
  function take(thread: Thread, id: number): Pending | undefined {
    const pending = thread.pending.get(id);
    thread.pending.delete(id);
    if (thread.pending.size === 0) thread.worker.unref();
    return pending;
  }

  function failAll(thread: Thread, error: Error) {
    for (const pending of thread.pending.values()) pending.reject(error);
    thread.pending.clear();
  }

  function spawn(slot: number): Thread {
    const thread: Thread = { worker: startWorker(), pending: new Map() };
    thread.worker.unref();
    thread.worker.on('message', (reply: ThreadReply) => {
      const pending = take(thread, reply.id);
      if (!pending) return;
      if ('error' in reply) return pending.reject(new Error(`embedding failed: ${reply.error}`));
      const vectors: number[][] = [];
      for (let i = 0; i < pending.count; i++) {
        vectors.push(Array.from(reply.vectors.subarray(i * dimension, (i + 1) * dimension)));
      }
      pending.resolve(vectors);
    });
    const gone = (error: Error) => {
      if (pool[slot] === thread) pool[slot] = undefined;
      failAll(thread, error);
    };
    thread.worker.on('error', (error) => gone(new Error(`embedding thread failed: ${error.message}`)));
    thread.worker.on('exit', (code) => gone(new Error(`embedding thread exited (code ${code})`)));
    pool[slot] = thread;
    return thread;
  }

  /** The thread with the fewest batches waiting, started if its slot is empty. */
  function pick(): Thread {
    let best: Thread | undefined;
    for (let slot = 0; slot < threads; slot++) {
      const thread = pool[slot] ?? spawn(slot);
      if (!best || thread.pending.size < best.pending.size) best = thread;
    }
    return best as Thread;
  }

  return {
    id: local.id,
    dimension,
    async embed(texts, embedOptions = {}) {
      const { signal } = embedOptions;
      signal?.throwIfAborted();
      if (texts.length === 0) return [];
      const thread = pick();
      const id = nextId++;
      return new Promise<number[][]>((resolve, reject) => {
        // Aborted while the thread works: the caller has its answer now, and the vectors are dropped on arrival.
        const onAbort = () => {
          take(thread, id);
          reject(signal?.reason);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        const settled = () => signal?.removeEventListener('abort', onAbort);
        // Referenced only while it has batches: an idle pool does not keep the process alive.
        if (thread.pending.size === 0) thread.worker.ref();
        thread.pending.set(id, {
          count: texts.length,
          resolve: (vectors) => {
            settled();
            resolve(vectors);
          },
          reject: (error) => {
            settled();
            reject(error);
          },
        });
        const request: ThreadRequest = { id, dimension, texts };
        thread.worker.postMessage(request);
      });
    },
    async close() {
      const running = pool.filter((thread): thread is Thread => thread !== undefined);
      pool.fill(undefined);
      await Promise.all(
        running.map(async (thread) => {
          failAll(thread, new Error('the embedder was closed'));
          await thread.worker.terminate();
        }),
      );
    },
  };
}
