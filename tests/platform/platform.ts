import { randomBytes } from 'node:crypto';
import { type ServiceName, type ServiceProcess, spawnService } from '@kb/testing';
import getPort from 'get-port';
import { inject } from 'vitest';

export const NATS_SERVICES = ['tenant', 'ingestion', 'search', 'usage'] as const;

export interface Platform {
  /** The variables every service shares; KB_MONGO_URL there is the base each service's database extends. */
  env: Record<string, string>;
  /** The exact environment service `name` runs with (its own database). */
  envOf(name: ServiceName): Record<string, string>;
  gatewayUrl: string;
  processes: Map<ServiceName, ServiceProcess>;
  stop(): Promise<void>;
}

export interface PlatformOptions {
  /** Variables set over the defaults for every service (e.g. KB_QDRANT_URL of a test's own engine). */
  env?: Record<string, string>;
}

/** Starts the five services as separate processes against the harness's servers, with fresh secrets. */
export async function startPlatform(
  only: readonly ServiceName[] = ['gateway', ...NATS_SERVICES],
  options: PlatformOptions = {},
): Promise<Platform> {
  const port = await getPort();
  const env: Record<string, string> = {
    KB_NATS_URL: inject('natsUrl'),
    KB_REDIS_URL: inject('redisUrl'),
    KB_MONGO_URL: `${inject('mongoUrl')}kb_${randomBytes(4).toString('hex')}`,
    KB_QDRANT_URL: 'http://127.0.0.1:6333',
    KB_CONTEXT_SECRET: randomBytes(48).toString('base64url'),
    KB_KEY_HASH_SECRET: randomBytes(48).toString('base64url'),
    KB_MASTER_KEY: `kb_master_${randomBytes(30).toString('base64url')}`,
    KB_GATEWAY_HOST: '127.0.0.1',
    KB_GATEWAY_PORT: String(port),
    ...options.env,
  };
  // Each service keeps its collections in its own database, as deployments do: on FerretDB's SQLite backend a
  // database is one file with one writer at a time, so one service's writes never queue behind another's.
  const envOf = (name: ServiceName) => ({ ...env, KB_MONGO_URL: `${env.KB_MONGO_URL}_${name}` });
  const started = await Promise.all(
    only.map(async (name) => [name, await spawnService(name, envOf(name))] as const),
  );
  const processes = new Map<ServiceName, ServiceProcess>(started);
  return {
    env,
    envOf,
    gatewayUrl: `http://127.0.0.1:${port}`,
    processes,
    async stop() {
      await Promise.all([...processes.values()].map((p) => p.stop(10_000)));
    },
  };
}
