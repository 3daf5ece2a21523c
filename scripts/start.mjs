#!/usr/bin/env node
// The local default (`npm start`, after scripts/bootstrap.mjs): builds everything, connects to or starts the
// infrastructure (NATS with JetStream, Redis, FerretDB as MongoDB, the local Qdrant engine), then runs the
// five services as separate processes with their output prefixed by name. Ctrl-C / SIGTERM stops the services
// (SIGTERM, SIGKILL after 10 s), then the infrastructure it started.
//
// Environment:
//   KB_NATS_URL, KB_REDIS_URL, KB_MONGO_URL (default database `kb`), KB_QDRANT_URL: use these servers instead
//     of starting local ones (those keep their data under ./.data/{nats,redis,ferretdb,qdrant}).
//   KB_MASTER_KEY, KB_CONTEXT_SECRET, KB_KEY_HASH_SECRET: generated once and kept in ./.data/secrets.json.
//   KB_GATEWAY_PORT (8080), KB_GATEWAY_HOST (127.0.0.1), KB_LOG_LEVEL (info), KB_OTLP_ENDPOINT, KB_DATA_DIR.
//   KB_START_SERVICES: `none` starts only the infrastructure (built: libs only) and prints its URLs, for
//     running services by hand or checking the infrastructure; a comma list (`gateway,tenant`) starts those.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SERVICES = ['gateway', 'tenant', 'ingestion', 'search', 'usage'];
const root = dirname(dirname(fileURLToPath(import.meta.url)));
const env = process.env;
const dataDir = resolve(root, env.KB_DATA_DIR ?? '.data');
const colour = process.stdout.isTTY && !env.NO_COLOR && env.FORCE_COLOR !== '0';
const paint = (code, text) => (colour ? `\x1b[${code}m${text}\x1b[0m` : text);
const say = (message) => console.log(`${paint('1', '[start]')} ${message}`);

function chosenServices() {
  const value = (env.KB_START_SERVICES ?? 'all').trim();
  if (value === 'all' || value === '') return SERVICES;
  if (value === 'none') return [];
  const names = value.split(',').map((s) => s.trim());
  const unknown = names.filter((n) => !SERVICES.includes(n));
  if (unknown.length > 0) throw new Error(`KB_START_SERVICES: unknown ${unknown.join(', ')}`);
  return names;
}

function build(services) {
  // Without services, only the libraries the infrastructure needs.
  const filter = services.length === 0 ? ['--filter=@kb/testing', '--filter=@kb/qdrant-local'] : [];
  say(`building: npx turbo run build ${filter.join(' ')}`);
  const result = spawnSync('npx', ['turbo', 'run', 'build', ...filter], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`build failed (exit ${result.status ?? result.signal})`);
}

// --- secrets -------------------------------------------------------------------------------------------
function base62(length) {
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += alphabet[byte % 62]; // 248 = 4 * 62: no modulo bias
    }
  }
  return out;
}

function loadSecrets() {
  const file = join(dataDir, 'secrets.json');
  const stored = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  const generators = {
    KB_MASTER_KEY: () => `kb_master_${base62(40)}`,
    KB_CONTEXT_SECRET: () => randomBytes(48).toString('base64url'),
    KB_KEY_HASH_SECRET: () => randomBytes(48).toString('base64url'),
  };
  const secrets = {};
  let generated = false;
  for (const [name, generate] of Object.entries(generators)) {
    if (env[name]) secrets[name] = env[name];
    else if (stored[name]) secrets[name] = stored[name];
    else {
      secrets[name] = stored[name] = generate();
      generated = true;
    }
  }
  if (generated) {
    writeFileSync(file, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
    say(`generated secrets saved to ${file}`);
  }
  return secrets;
}

// --- infrastructure ------------------------------------------------------------------------------------
/** The preferred port when it is free, else any free one. */
function freePort(preferred) {
  const tryListen = (port) =>
    new Promise((res) => {
      const server = createServer();
      server.once('error', () => res(undefined));
      server.listen({ host: '127.0.0.1', port, exclusive: true }, () => {
        const { port: bound } = server.address();
        server.close(() => res(bound));
      });
    });
  return tryListen(preferred).then((port) => port ?? tryListen(0));
}

/** Appends the default database to a MongoDB URL that names none. */
function withDatabase(url, db) {
  const [base, query] = url.split('?');
  const hostEnd = base.indexOf('/', base.indexOf('://') + 3);
  if (hostEnd >= 0 && base.length > hostEnd + 1) return url;
  const withSlash = hostEnd >= 0 ? base : `${base}/`;
  return `${withSlash}${db}${query === undefined ? '' : `?${query}`}`;
}

function startQdrant(port) {
  const dir = join(dataDir, 'qdrant');
  const cli = join(root, 'libs', 'qdrant-local', 'dist', 'cli.js');
  const child = spawn(process.execPath, [cli, '--port', String(port), '--data', dir], {
    cwd: root,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  spawned.add(child);
  const output = [];
  return new Promise((res, rej) => {
    const fail = (why) => rej(new Error(`qdrant-local ${why}:\n${output.join('\n')}`));
    const timer = setTimeout(() => fail('not ready in 30 s'), 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(`exited (code ${code})`);
    });
    eachLine(child.stderr, (line) => output.push(line));
    eachLine(child.stdout, (line) => {
      output.push(line);
      if (!line.includes('"qdrant-local listening"')) return;
      clearTimeout(timer);
      res({ url: JSON.parse(line).url, dir, stop: () => stopChild(child, 10_000) });
    });
  });
}

async function startInfrastructure() {
  const harness = await import(pathToFileURL(join(root, 'libs', 'testing', 'dist', 'index.js')).href);
  const local = (start, preferred, subdir) => async () =>
    start({ dir: join(dataDir, subdir), port: await freePort(preferred), detached: true });
  const hasQdrant = existsSync(join(root, 'libs', 'qdrant-local', 'dist', 'cli.js'));
  // [variable, external URL, how to start a local one (null: none available)]
  const plan = [
    ['KB_NATS_URL', env.KB_NATS_URL, local(harness.startNats, 14222, 'nats')],
    ['KB_REDIS_URL', env.KB_REDIS_URL, local(harness.startRedis, 16379, 'redis')],
    ['KB_MONGO_URL', env.KB_MONGO_URL, local(harness.startFerret, 27018, 'ferretdb')],
    ['KB_QDRANT_URL', env.KB_QDRANT_URL, hasQdrant ? async () => startQdrant(await freePort(16333)) : null],
  ];
  const results = await Promise.allSettled(plan.map(([, url, start]) => (url || !start ? null : start())));
  const started = results.filter((r) => r.status === 'fulfilled' && r.value).map((r) => r.value);
  const stop = () => Promise.all(started.map((s) => s.stop().catch(() => {})));
  const failed = results.filter((r) => r.status === 'rejected').map((r) => r.reason?.message ?? r.reason);
  if (failed.length > 0) {
    await stop();
    throw new Error(`infrastructure did not start:\n${failed.join('\n\n')}`);
  }
  const urls = {};
  plan.forEach(([name, external], i) => {
    const own = results[i].value;
    const url = external || own?.url || '';
    urls[name] = name === 'KB_MONGO_URL' ? withDatabase(url, 'kb') : url;
    const where = own
      ? `local, data in ${own.dir}`
      : external
        ? 'external'
        : 'none: libs/qdrant-local not built';
    say(`${name.padEnd(13)} ${urls[name] || '-'}  (${where})`);
  });
  return { urls, stop };
}

// Children this script spawned itself (the harness guards its own servers): signalled if it exits early.
const spawned = new Set();
process.on('exit', () => {
  for (const child of spawned)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
});

// --- services ------------------------------------------------------------------------------------------
function stopChild(child, timeoutMs) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((res) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      res();
    });
    child.kill('SIGTERM');
  });
}

function eachLine(stream, onLine) {
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  });
  stream.on('end', () => rest && onLine(rest));
}

/** The Node flags a service's package.json asks for (`kb.nodeOptions`), as every launcher passes them. */
function nodeOptionsOf(name) {
  const manifest = JSON.parse(readFileSync(join(root, 'services', name, 'package.json'), 'utf8'));
  return manifest.kb?.nodeOptions ?? [];
}

function startService(name, index, serviceEnv, onReady, onExit) {
  const prefix = paint(String(31 + (index % 6)), name.padEnd(9));
  // The telemetry preload instruments libraries before the service loads them (libs/telemetry/src/register.ts).
  const preload = pathToFileURL(join(root, 'libs', 'telemetry', 'dist', 'register.js')).href;
  const main = join(root, 'services', name, 'dist', 'main.js');
  const child = spawn(process.execPath, [...nodeOptionsOf(name), '--import', preload, main], {
    cwd: root,
    env: serviceEnv,
    detached: true, // Ctrl-C reaches only this script, which stops the services before the infrastructure
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  spawned.add(child);
  const onLine = (line) => {
    console.log(`${prefix} | ${line}`);
    if (line.startsWith('{') && line.includes('"ready"')) {
      try {
        if (JSON.parse(line).msg === 'ready') onReady(name);
      } catch {
        // not JSON after all
      }
    }
  };
  eachLine(child.stdout, onLine);
  eachLine(child.stderr, onLine);
  child.once('exit', (code, signal) => onExit(name, code, signal));
  return child;
}

function printBox(gatewayUrl, masterKey) {
  const lines = [
    `Gateway    ${gatewayUrl}`,
    `API docs   ${gatewayUrl}/docs`,
    `Readiness  ${gatewayUrl}/readyz`,
    `Master key ${masterKey}`,
    '',
    'Try:',
    `  export KB_MASTER_KEY=${masterKey}`,
    `  curl -H "Authorization: Bearer $KB_MASTER_KEY" -X POST ${gatewayUrl}/v1/orgs \\`,
    `       -H 'content-type: application/json' -d '{"name":"acme"}'`,
  ];
  const width = Math.max(...lines.map((l) => l.length));
  console.log(`\n┌${'─'.repeat(width + 2)}┐`);
  for (const line of lines) console.log(`│ ${line.padEnd(width)} │`);
  console.log(`└${'─'.repeat(width + 2)}┘\n`);
}

// --- main ----------------------------------------------------------------------------------------------
async function main() {
  const services = chosenServices();
  build(services);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const secrets = loadSecrets();
  const infra = await startInfrastructure();

  const children = new Map();
  let stopping = false;
  const shutdown = async (exitCode, why) => {
    if (stopping) return;
    stopping = true;
    say(`${why}: stopping ${children.size > 0 ? 'services, then ' : ''}infrastructure`);
    await Promise.all([...children.values()].map((child) => stopChild(child, 10_000)));
    await infra.stop();
    say('stopped');
    process.exit(exitCode);
  };
  let firstSignalAt = 0;
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      // Under `npm start` one Ctrl-C arrives twice (terminal + npm forwarding it): only a later one forces.
      if (stopping && Date.now() - firstSignalAt > 1500) process.exit(130); // exit hooks still signal children
      firstSignalAt ||= Date.now();
      void shutdown(0, signal);
    });
  }

  if (services.length === 0) {
    say('KB_START_SERVICES=none: infrastructure only; Ctrl-C stops it');
    return;
  }
  const gatewayHost = env.KB_GATEWAY_HOST ?? '127.0.0.1';
  const gatewayPort = env.KB_GATEWAY_PORT ?? '8080';
  const shared = {
    ...Object.fromEntries(Object.entries(infra.urls).filter(([, url]) => url)), // no Qdrant: left unset
    KB_CONTEXT_SECRET: secrets.KB_CONTEXT_SECRET,
    KB_KEY_HASH_SECRET: secrets.KB_KEY_HASH_SECRET,
    KB_GATEWAY_PORT: gatewayPort,
    KB_GATEWAY_HOST: gatewayHost,
    KB_LOG_LEVEL: env.KB_LOG_LEVEL ?? 'info',
    KB_DATA_DIR: dataDir,
    ...(env.KB_OTLP_ENDPOINT ? { KB_OTLP_ENDPOINT: env.KB_OTLP_ENDPOINT } : {}),
  };
  const ready = new Set();
  const onReady = (name) => {
    ready.add(name);
    if (ready.size !== services.length) return;
    const shownHost = gatewayHost === '0.0.0.0' ? '127.0.0.1' : gatewayHost;
    if (services.includes('gateway')) printBox(`http://${shownHost}:${gatewayPort}`, secrets.KB_MASTER_KEY);
    say(`all ${services.length} services ready`);
  };
  const onExit = (name, code, signal) => {
    children.delete(name);
    if (stopping) return;
    say(paint('31', `${name} exited unexpectedly (code ${code}, signal ${signal})`));
    void shutdown(1, `${name} died`);
  };
  const { KB_MASTER_KEY: _ignored, ...inherited } = env;
  services.forEach((name, i) => {
    const serviceEnv = {
      ...inherited,
      ...shared,
      // With the local FerretDB each service gets its own database (`kb_<service>`): SQLite writes one
      // database file at a time, so services sharing one would queue behind each other's writes.
      ...(env.KB_MONGO_URL ? {} : { KB_MONGO_URL: `${shared.KB_MONGO_URL}_${name}` }),
      ...(name === 'gateway' ? { KB_MASTER_KEY: secrets.KB_MASTER_KEY } : {}),
    };
    children.set(name, startService(name, i, serviceEnv, onReady, onExit));
  });
  setTimeout(() => {
    const waiting = services.filter((s) => !ready.has(s));
    if (waiting.length > 0 && !stopping) say(`still waiting for ${waiting.join(', ')} to log "ready"`);
  }, 60_000).unref();
}

main().catch((error) => {
  console.error(`[start] error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
