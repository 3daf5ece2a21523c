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

/**
 * FerretDB v1 on SQLite (one file per database in `<dir>/`); url `mongodb://127.0.0.1:<port>/`, to which
 * the caller appends a database name. Its collections get the `_id` index its lookups can use
 * (ferret-indexes.ts) for as long as the handle lives.
 */
export async function startFerret(opts: ServerOptions = {}): Promise<ServerHandle> {
  const sqlite3 = findBinary('sqlite3');
  const handle = await launchServer(
    {
      name: 'ferretdb',
      binary: findBinary('ferretdb'),
      args: (port, dir) => [
        '--handler=sqlite',
        `--sqlite-url=file:${dir}/`,
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
    opts,
  );
  const keeper = keepFerretIdIndexes(handle.dir, sqlite3);
  return {
    ...handle,
    async destroy() {
      await keeper.stop();
      await handle.destroy();
    },
  };
}
