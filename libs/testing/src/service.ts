import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Child, type ExitInfo, keepNewest, launch, settle, within } from './child.js';

export type ServiceName = 'gateway' | 'tenant' | 'ingestion' | 'search' | 'usage';

export interface ServiceProcess {
  name: string;
  pid: number;
  /** stdout lines collected so far (at least the newest 5000, at most twice as many). */
  stdout: string[];
  /** stderr lines collected so far (at least the newest 5000, at most twice as many). */
  stderr: string[];
  /** Sends a signal (default SIGKILL, a crash) without waiting. */
  kill(signal?: NodeJS.Signals): void;
  exited: Promise<ExitInfo>;
  /** SIGTERM, then SIGKILL after `timeoutMs` (default 10 s). */
  stop(timeoutMs?: number): Promise<ExitInfo>;
}

export interface SpawnServiceOptions {
  /** How long to wait for the `{"msg":"ready"}` log line (default 30 s). */
  readyTimeoutMs?: number;
  /** Modules loaded before the entry point (`node --import`), resolved from the service's folder. */
  preload?: string[];
  /** Node flags before everything else (a service's `kb.nodeOptions`). */
  nodeOptions?: string[];
}

/** The Node flags a service's package.json asks for (`kb.nodeOptions`), as every launcher passes them. */
function nodeOptionsOf(serviceDir: string): string[] {
  const manifest = JSON.parse(readFileSync(join(serviceDir, 'package.json'), 'utf8')) as {
    kb?: { nodeOptions?: string[] };
  };
  return manifest.kb?.nodeOptions ?? [];
}

/** The repository root, from this file's place in it (`libs/testing/src` or `libs/testing/dist`). */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

const MAX_LINES = 5000;

function isReadyLine(line: string): boolean {
  if (!line.startsWith('{')) return false;
  try {
    return (JSON.parse(line) as { msg?: unknown }).msg === 'ready';
  } catch {
    return false;
  }
}

function outputOf(child: Child): string {
  return child.lines.slice(-60).join('\n');
}

/**
 * Runs a Node entry point (TypeScript through tsx, `source` export conditions) and resolves once it logs a
 * JSON line with `msg: "ready"`; rejects with its output if it exits or times out first.
 */
export async function spawnNodeService(
  name: string,
  entry: string,
  cwd: string,
  env: Record<string, string>,
  opts: SpawnServiceOptions = {},
): Promise<ServiceProcess> {
  const timeoutMs = opts.readyTimeoutMs ?? 30_000;
  const stdout: string[] = [];
  const stderr: string[] = [];
  let isReady = false;
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  const baseEnv: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    KB_LOG_LEVEL: 'info',
  };
  const preload = (opts.preload ?? []).flatMap((module) => ['--import', module]);
  const child = launch(
    process.execPath,
    [...(opts.nodeOptions ?? []), '--conditions=source', '--import', 'tsx', ...preload, entry],
    {
      cwd,
      env: { ...baseEnv, ...env },
      maxLines: 200,
      onLine(line, stream) {
        keepNewest(stream === 'stdout' ? stdout : stderr, line, MAX_LINES);
        // Parse lines only until the service is ready: afterwards its log volume should cost the caller little.
        if (!isReady && stream === 'stdout' && isReadyLine(line)) {
          isReady = true;
          markReady();
        }
      },
    },
  );

  const outcome = await within(Promise.race([ready.then(() => 'ready' as const), child.exited]), timeoutMs);
  if (outcome === 'timeout') {
    await child.stop(2000);
    throw new Error(
      `${name} did not log {"msg":"ready"} within ${timeoutMs} ms; output:\n${outputOf(child)}`,
    );
  }
  if (outcome !== 'ready') {
    await settle();
    throw new Error(
      `${name} exited (code ${outcome.code}, signal ${outcome.signal}) before it was ready; output:\n${outputOf(child)}`,
    );
  }
  return {
    name,
    pid: child.pid,
    stdout,
    stderr,
    kill: (signal = 'SIGKILL') => child.kill(signal),
    exited: child.exited,
    stop: (stopTimeoutMs = 10_000) => child.stop(stopTimeoutMs),
  };
}

/**
 * Starts `services/<name>/src/main.ts` as its own process with `env` over a minimal environment (PATH, HOME,
 * KB_LOG_LEVEL=info), with the telemetry preload as in production, resolving once the service logs
 * `{"msg":"ready"}`.
 */
export function spawnService(
  name: ServiceName,
  env: Record<string, string>,
  opts: SpawnServiceOptions = {},
): Promise<ServiceProcess> {
  const cwd = join(repoRoot, 'services', name);
  const entry = join(cwd, 'src', 'main.ts');
  if (!existsSync(entry)) return Promise.reject(new Error(`${name}: ${entry} does not exist`));
  return spawnNodeService(name, entry, cwd, env, {
    preload: ['@kb/telemetry/register'],
    nodeOptions: nodeOptionsOf(cwd),
    ...opts,
  });
}
