#!/usr/bin/env node
// Runs before `npm test`, `npm start` and `npm run bench`, possibly before anything is installed, so it uses
// Node built-ins only. It makes sure that
//   1. node_modules matches package.json / package-lock.json (`npm install`), and
//   2. nats-server, redis-server, sqlite3 and FerretDB v1.24.2 exist (`bash deploy/local/install.sh` otherwise).
// When nothing is missing it prints nothing and takes a few milliseconds.
// `node scripts/bootstrap.mjs --dry-run` only prints what it would do.
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const FERRETDB_VERSION = 'v1.24.2';
const root = dirname(dirname(fileURLToPath(import.meta.url)));
const { env } = process;
const dryRun = process.argv.includes('--dry-run');

const say = (message) => console.log(`[bootstrap] ${message}`);

function fail(message) {
  console.error(`[bootstrap] error: ${message}`);
  process.exit(1);
}

function run(command, args) {
  say(`${dryRun ? 'would run' : 'running'}: ${[command, ...args].join(' ')}`);
  if (dryRun) return;
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.error) fail(`${command} could not start: ${result.error.message}`);
  if (result.status !== 0)
    fail(`\`${[command, ...args].join(' ')}\` failed (exit ${result.status ?? result.signal})`);
}

const mtime = (path) => (existsSync(path) ? statSync(path).mtimeMs : undefined);

function ensureDependencies() {
  const installed = mtime(join(root, 'node_modules', '.package-lock.json'));
  const lock = mtime(join(root, 'package-lock.json'));
  const manifest = mtime(join(root, 'package.json'));
  const stale = installed === undefined || (lock ?? 0) > installed || (manifest ?? 0) > installed;
  if (!stale) return;
  say(
    installed === undefined
      ? 'node_modules missing'
      : 'node_modules older than package.json/package-lock.json',
  );
  // Always `npm install`: npm 11 refuses its own lock file in `npm ci` when other platforms' optional packages are absent.
  run('npm', ['install', '--no-audit', '--no-fund']);
}

const isExecutable = (path) => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

function goPath() {
  if (env.GOPATH) return env.GOPATH.split(delimiter)[0];
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

// The same search, in the same order, as findBinary() in libs/testing/src/binaries.ts.
function findBinary(name) {
  const candidates = [];
  if (name === 'ferretdb' && env.KB_FERRETDB_BIN) candidates.push(env.KB_FERRETDB_BIN);
  for (const dir of (env.PATH ?? '').split(delimiter)) if (dir) candidates.push(join(dir, name));
  candidates.push(join('/usr/sbin', name), join('/usr/bin', name), join(homedir(), 'go', 'bin', name));
  const found = candidates.find(isExecutable);
  if (found) return found;
  const gopath = goPath();
  const inGoPath = gopath ? join(gopath, 'bin', name) : undefined;
  return inGoPath && isExecutable(inGoPath) ? inGoPath : undefined;
}

function ferretdbVersion(path) {
  try {
    const out = execFileSync(path, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return /version:\s*(\S+)/.exec(out)?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function missingServers() {
  const missing = [];
  for (const name of ['nats-server', 'redis-server', 'sqlite3']) if (!findBinary(name)) missing.push(name);
  const ferretdb = findBinary('ferretdb');
  if (!ferretdb) missing.push('ferretdb');
  else {
    const version = ferretdbVersion(ferretdb);
    if (version !== FERRETDB_VERSION)
      missing.push(`ferretdb ${FERRETDB_VERSION} (${ferretdb} is ${version})`);
  }
  return missing;
}

function ensureServers() {
  const missing = missingServers();
  if (missing.length === 0) return;
  say(`missing: ${missing.join(', ')}`);
  run('bash', [join(root, 'deploy', 'local', 'install.sh')]);
  if (dryRun) return;
  const still = missingServers();
  if (still.length > 0) {
    fail(
      `still missing after deploy/local/install.sh: ${still.join(', ')}` +
        ' (for FerretDB, KB_FERRETDB_BIN may point at the right binary)',
    );
  }
}

try {
  ensureDependencies();
  ensureServers();
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}
