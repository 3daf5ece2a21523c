import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import getPort from 'get-port';
import { type Child, launch, settle, trackOwnedDir, untrackOwnedDir, within } from './child.js';

export interface ServerHandle {
  url: string;
  port: number;
  dir: string;
  /** The running server's process id (a new one after each restart); -1 before the first start. */
  readonly pid: number;
  /** SIGTERM, wait for the exit (SIGKILL after 5 s). Keeps the data folder, so `start()` can follow. */
  stop(): Promise<void>;
  /** (Re)starts on the same port and data folder; resolves once the server answers. No-op while running. */
  start(): Promise<void>;
  /** Sends a signal (default SIGKILL, a crash) without waiting; `start()` afterwards restarts it. */
  kill(signal?: NodeJS.Signals): void;
  /** `stop()`, then removes the data folder if the harness created it. The handle is finished after this. */
  destroy(): Promise<void>;
}

export interface ServerOptions {
  /** Data folder (created if missing, never removed). Default: a fresh `kb-test-<name>-XXXX` temp folder. */
  dir?: string;
  /** Default: a free port chosen by get-port. */
  port?: number;
  /** Own process group, so a terminal's Ctrl-C reaches only the parent, which stops servers in order. */
  detached?: boolean;
}

export interface ServerSpec {
  name: string;
  binary: string;
  args(port: number, dir: string): string[];
  url(port: number): string;
  probe(port: number): Promise<void>;
  prepare?(dir: string): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 5_000;

async function waitReady(spec: ServerSpec, child: Child, port: number): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastError = 'no attempt yet';
  let exited = false;
  void child.exited.then(() => {
    exited = true;
  });
  while (Date.now() < deadline) {
    if (exited) {
      const info = await child.exited;
      await settle();
      throw new Error(
        `${spec.name} exited (code ${info.code}, signal ${info.signal}) before it was ready on port ${port}:\n${child.tail()}`,
      );
    }
    try {
      await spec.probe(port);
      if (!exited) return;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    await within(child.exited, 50);
  }
  throw new Error(
    `${spec.name} not ready on port ${port} after ${READY_TIMEOUT_MS / 1000} s (last probe: ${lastError}):\n${child.tail()}`,
  );
}

/** Something else answering on the port would pass the readiness probe in our server's place. */
function assertPortFree(name: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'is already in use' : `cannot be bound (${err.message})`;
      reject(new Error(`${name}: port ${port} ${why}`));
    });
    probe.listen({ host: '127.0.0.1', port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

interface SpawnMode {
  detached: boolean;
  /** What the server gets if its parent ends without stopping it. */
  exitSignal: NodeJS.Signals;
}

async function spawnReady(spec: ServerSpec, port: number, dir: string, mode: SpawnMode): Promise<Child> {
  await assertPortFree(spec.name, port);
  const child = launch(spec.binary, spec.args(port, dir), { cwd: dir, ...mode });
  try {
    await waitReady(spec, child, port);
    return child;
  } catch (err) {
    await child.stop(STOP_TIMEOUT_MS);
    throw err;
  }
}

/** Starts a server and returns its handle once it answers. */
export async function launchServer(spec: ServerSpec, opts: ServerOptions = {}): Promise<ServerHandle> {
  const ownsDir = opts.dir === undefined;
  const dir =
    opts.dir === undefined ? await mkdtemp(join(tmpdir(), `kb-test-${spec.name}-`)) : resolve(opts.dir);
  if (ownsDir) trackOwnedDir(dir);
  else await mkdir(dir, { recursive: true });
  await spec.prepare?.(dir);
  // Data in a caller's folder gets a clean shutdown if the parent ends abruptly; throw-away data a quick death.
  const mode: SpawnMode = { detached: opts.detached ?? false, exitSignal: ownsDir ? 'SIGKILL' : 'SIGTERM' };

  let port = opts.port ?? (await getPort({ host: '127.0.0.1' }));
  let child: Child | undefined;
  // A port picked by get-port can be taken before the server binds it: then retry on another one.
  for (let attempt = 1; ; attempt++) {
    try {
      child = await spawnReady(spec, port, dir, mode);
      break;
    } catch (err) {
      const portTaken = /already in use|bind: /i.test(String(err));
      if (opts.port !== undefined || attempt >= 3 || !portTaken) {
        if (ownsDir) {
          untrackOwnedDir(dir);
          await rm(dir, { recursive: true, force: true });
        }
        throw err;
      }
      port = await getPort({ host: '127.0.0.1' });
    }
  }

  let destroyed = false;
  let killed = false;
  const stop = async () => {
    await child?.stop(STOP_TIMEOUT_MS);
  };
  return {
    url: spec.url(port),
    port,
    dir,
    get pid() {
      return child?.pid ?? -1;
    },
    stop,
    async start() {
      if (destroyed) throw new Error(`${spec.name} on port ${port} was destroyed`);
      if (child?.running() && killed) await within(child.exited, STOP_TIMEOUT_MS);
      killed = false;
      if (child?.running()) return;
      child = await spawnReady(spec, port, dir, mode);
    },
    kill(signal = 'SIGKILL') {
      killed = true;
      child?.kill(signal);
    },
    async destroy() {
      destroyed = true;
      await stop();
      if (ownsDir) {
        untrackOwnedDir(dir);
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}
