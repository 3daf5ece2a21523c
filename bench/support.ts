import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Shared set-up of the benchmarks: the engine in its own process, secrets, and a gateway client. */

export interface Engine {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * The local Qdrant engine as a standalone process (as `npm start` runs it), data in a temporary folder.
 * `compactBytes`: the size of its log that makes it write a snapshot of every collection (default 64 MiB).
 */
export async function startEngine(options: { compactBytes?: number } = {}): Promise<Engine> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kb-bench-qdrant-'));
  const cli = fileURLToPath(new URL('../libs/qdrant-local/src/cli.ts', import.meta.url));
  const engine = spawn(
    process.execPath,
    [
      '--conditions=source',
      '--import',
      'tsx',
      cli,
      '--port',
      '0',
      '--data',
      dataDir,
      ...(options.compactBytes ? ['--compact-bytes', String(options.compactBytes)] : []),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const [line] = (await once(engine.stdout, 'data')) as [Buffer];
  const url = (JSON.parse(line.toString().split('\n')[0] ?? '{}') as { url: string }).url;
  return {
    url,
    pid: engine.pid as number,
    async stop() {
      engine.kill('SIGTERM');
      await once(engine, 'exit');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * CPU time (user + system, seconds) a process has used so far, from /proc (Linux; clock ticks of 1/100 s,
 * the kernel's USER_HZ).
 */
export function cpuSeconds(pid: number): number {
  const fields = (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1] ?? '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds used so far by each of `pids` (by name); a process that has gone is left out. */
export function cpuOf(pids: Record<string, number>): Record<string, number> {
  const used: Record<string, number> = {};
  for (const [name, pid] of Object.entries(pids)) {
    try {
      used[name] = cpuSeconds(pid);
    } catch {
      // No /proc entry: the process has exited, and its CPU time can no longer be read.
    }
  }
  return used;
}

/**
 * Where the CPU went between two `cpuOf` readings, in ms per `unit` (a document): `name 12.3` for each
 * process read both times, largest first, and the total.
 */
export function cpuPer(
  before: Record<string, number>,
  after: Record<string, number>,
  units: number,
): { total: number; text: string } {
  const spent = Object.entries(after)
    .filter(([name]) => name in before)
    .map(([name, seconds]) => [name, ((seconds - (before[name] as number)) * 1_000) / units] as const)
    .sort((a, b) => b[1] - a[1]);
  const total = spent.reduce((sum, [, ms]) => sum + ms, 0);
  return { total, text: spent.map(([name, ms]) => `${name} ${ms.toFixed(1)}`).join(', ') };
}

/** The servers of `infra` (MongoDB database `database`), fresh secrets and a random gateway port. */
export function benchEnv(infra: { natsUrl: string; redisUrl: string; mongoUrl: string }, database: string) {
  return {
    KB_NATS_URL: infra.natsUrl,
    KB_REDIS_URL: infra.redisUrl,
    KB_MONGO_URL: `${infra.mongoUrl}${database}`,
    KB_CONTEXT_SECRET: randomBytes(48).toString('base64url'),
    KB_KEY_HASH_SECRET: randomBytes(48).toString('base64url'),
    KB_MASTER_KEY: `kb_master_${randomBytes(30).toString('base64url')}`,
    KB_GATEWAY_PORT: String(20_000 + Math.floor(Math.random() * 20_000)),
  };
}

export type Api = <T = Record<string, string>>(
  method: string,
  path: string,
  credential: string,
  body?: unknown,
) => Promise<T>;

/** JSON calls to a gateway; anything but 2xx throws with the status and the problem. */
export function gatewayApi(baseUrl: string): Api {
  return async <T>(method: string, path: string, credential: string, body?: unknown) => {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await response.json()) as T;
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
    return json;
  };
}

export interface BenchTenant {
  org: string;
  ws: string;
  adminKey: string;
  keyId: string;
  key: string;
}

/** An enterprise organization, its admin key, one workspace and a workspace key with `scopes`. */
export async function createTenant(
  api: Api,
  masterKey: string,
  name: string,
  scopes: string[],
): Promise<BenchTenant> {
  const org = await api('POST', '/v1/orgs', masterKey, { name, plan: 'enterprise' });
  const admin = await api('POST', `/v1/orgs/${org.id}/keys`, masterKey, { name: 'admin' });
  const ws = await api('POST', `/v1/orgs/${org.id}/workspaces`, admin.key as string, { name });
  const key = await api('POST', `/v1/workspaces/${ws.id}/keys`, admin.key as string, { name: 'k', scopes });
  return {
    org: org.id as string,
    ws: ws.id as string,
    adminKey: admin.key as string,
    keyId: key.id as string,
    key: key.key as string,
  };
}
