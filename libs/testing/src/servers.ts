import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { findBinary } from './binaries.js';
import { keepFerretIdIndexes } from './ferret-indexes.js';
import { probeMongo, probeNats, probeRedis } from './probes.js';
import { launchServer, type ServerHandle, type ServerOptions } from './server.js';

/** nats-server with JetStream, storing under `<dir>/jetstream`; url `nats://127.0.0.1:<port>`. */
export function startNats(opts: ServerOptions = {}): Promise<ServerHandle> {
  return launchServer(
    {
      name: 'nats',
      binary: findBinary('nats-server'),
      args: (port, dir) => ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', join(dir, 'jetstream')],
      url: (port) => `nats://127.0.0.1:${port}`,
      probe: (port) => probeNats(port, true),
    },
    opts,
  );
}

export interface RedisOptions extends ServerOptions {
  /** Append-only file on (default), so data survives a restart. */
  persist?: boolean;
}

/** redis-server with AOF (unless `persist: false`), no RDB snapshots and `noeviction` (BullMQ needs it). */
export function startRedis(opts: RedisOptions = {}): Promise<ServerHandle> {
  const { persist = true, ...rest } = opts;
  return launchServer(
    {
      name: 'redis',
      binary: findBinary('redis-server'),
      args: (port, dir) => [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--appendonly',
        persist ? 'yes' : 'no',
        '--maxmemory-policy',
        'noeviction',
        '--save',
        '',
      ],
      url: (port) => `redis://127.0.0.1:${port}`,
      probe: probeRedis,
    },
    rest,
  );
}

export interface FerretOptions extends ServerOptions {
  /**
   * SQLite's `synchronous` setting on FerretDB's connections (its journal is a write-ahead log). `normal`
   * (the default): a commit is written to the log but not flushed to the disk, which happens at checkpoints;
   * every acknowledged write survives FerretDB being killed, and only an operating-system crash or power
   * loss can undo the last ones. That is what a standalone MongoDB promises by default too (its journal is
   * flushed every 100 ms). Writes wait for no disk flush: `bench/ferretdb.bench.ts` measures the difference.
   * `full` flushes the log at every commit.
   */
  synchronous?: 'normal' | 'full';
}

/**
 * FerretDB v1 on SQLite (one file per database in `<dir>/`); url `mongodb://127.0.0.1:<port>/`, to which
 * the caller appends a database name. Its collections get the `_id` index its lookups can use
 * (ferret-indexes.ts) for as long as the handle lives.
 */
export async function startFerret(opts: FerretOptions = {}): Promise<ServerHandle> {
  const { synchronous = 'normal', ...serverOptions } = opts;
  const sqlite3 = findBinary('sqlite3');
  const handle = await launchServer(
    {
      name: 'ferretdb',
      binary: findBinary('ferretdb'),
      args: (port, dir) => [
        '--handler=sqlite',
        `--sqlite-url=file:${dir}/?_pragma=synchronous(${synchronous})`,
        `--listen-addr=127.0.0.1:${port}`,
        process.env.KB_FERRET_DEBUG ? `--debug-addr=${process.env.KB_FERRET_DEBUG}` : '--debug-addr=-',
        '--telemetry=disable',
        `--state-dir=${dir}`,
        '--log-level=warn',
      ],
      url: (port) => `mongodb://127.0.0.1:${port}/`,
      probe: probeMongo,
      prepare: (dir) => mkdir(dir, { recursive: true }).then(() => undefined),
    },
    serverOptions,
  );
  let keeper = keepFerretIdIndexes(handle.dir, sqlite3);
  return {
    ...handle,
    // A getter, as in the handle: a restart starts a new process.
    get pid() {
      return handle.pid;
    },
    // The keeper's `sqlite3` is left out while FerretDB opens its files: after a crash, whichever connection
    // opens a database first recovers its log, and FerretDB refuses to start if that is not its own
    // ("database is locked").
    async start() {
      await keeper.stop();
      try {
        await handle.start();
      } finally {
        keeper = keepFerretIdIndexes(handle.dir, sqlite3);
      }
    },
    async destroy() {
      await keeper.stop();
      await handle.destroy();
    },
  };
}
