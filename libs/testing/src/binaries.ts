import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

export type BinaryName = 'nats-server' | 'redis-server' | 'ferretdb' | 'sqlite3';

const found = new Map<BinaryName, string>();

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `go env GOPATH`, trying the Go that is on PATH and the one the official tarball installs. */
function goPath(): string | undefined {
  if (process.env.GOPATH) return process.env.GOPATH.split(delimiter)[0];
  for (const go of ['go', '/usr/local/go/bin/go']) {
    try {
      const out = execFileSync(go, ['env', 'GOPATH'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      if (out.trim()) return out.trim();
    } catch {
      // no Go here
    }
  }
  return undefined;
}

function* candidates(name: BinaryName): Generator<string> {
  // An explicit setting wins over whatever else is installed.
  if (name === 'ferretdb' && process.env.KB_FERRETDB_BIN) yield process.env.KB_FERRETDB_BIN;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir) yield join(dir, name);
  yield join('/usr/sbin', name);
  yield join('/usr/bin', name);
  // Go-built binaries: the cheap guess first, `go env` (a process start) only if that misses.
  yield join(homedir(), 'go', 'bin', name);
  const gopath = goPath();
  if (gopath) yield join(gopath, 'bin', name);
}

/**
 * Absolute path of a server binary: KB_FERRETDB_BIN (ferretdb only), PATH, /usr/sbin, /usr/bin, ~/go/bin,
 * $(go env GOPATH)/bin. Throws, naming `npm run install-infra`, when none is found.
 */
export function findBinary(name: BinaryName): string {
  const cached = found.get(name);
  if (cached) return cached;
  for (const path of candidates(name)) {
    if (isExecutable(path)) {
      found.set(name, path);
      return path;
    }
  }
  throw new Error(
    `${name} not found (searched PATH, /usr/sbin, /usr/bin, ~/go/bin, $(go env GOPATH)/bin` +
      `${name === 'ferretdb' ? ', KB_FERRETDB_BIN' : ''}); run \`npm run install-infra\` to install it`,
  );
}
