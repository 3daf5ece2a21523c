import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { connectNats, consumeDurable, createPublisher } from '@kb/bus';
import { meteringSubject, STREAMS, UsageEvent } from '@kb/contracts';
import { createLogger } from '@kb/log';
import { createContextSigner, createContextVerifier, newId, type TenantContext } from '@kb/tenancy';
import { spawnService, startInfra } from '@kb/testing';
import mongoose from 'mongoose';
import { benchEnv, createTenant, gatewayApi } from './support.ts';

/**
 * Metering costs, each beside its baseline from the same run:
 * 1. the gateway's median latency on a cheap authenticated route (POST /v1/tokens: auth from cache, rate
 *    limits in Redis, no downstream call) with API-call metering on vs off: two gateway processes alike
 *    but for metering, driven one request at a time, alternating between them request by request so that
 *    drift and the machine's other work (the usage service consuming) affect both alike (target: at most
 *    5% added);
 * 2. event-to-rollup lag: from publishing an api_calls usage event to its organization's daily rollup
 *    holding it in MongoDB, vs the same events' delivery to a bare durable consumer (p99 ratio), at a
 *    steady rate across a few workspaces.
 */
const PAIRS = Number(process.env.BENCH_PAIRS ?? 4_000);
const LAG_EVENTS = Number(process.env.BENCH_LAG_EVENTS ?? 60);
/** The gateway publishes one event per active workspace per second: a few workspaces' worth. */
const LAG_INTERVAL_MS = Number(process.env.BENCH_LAG_INTERVAL_MS ?? 500);
const LAG_WORKSPACES = 10;

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
};
const fmt = (n: number, digits = 3) => n.toFixed(digits);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts bench/gateway-process.ts and resolves once it logs `ready`. */
async function startGateway(env: Record<string, string>, metering: boolean): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      '--conditions=source',
      '--import',
      'tsx',
      fileURLToPath(new URL('./gateway-process.ts', import.meta.url)),
    ],
    {
      env: { PATH: process.env.PATH ?? '', ...env, BENCH_METERING: metering ? 'on' : 'off' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const lines = createInterface({ input: child.stdout as NonNullable<typeof child.stdout> });
  for await (const line of lines) {
    if (line.includes('"msg":"ready"')) break;
  }
  child.stdout?.resume();
  return child;
}

/** One request at a time over one kept-alive connection; returns each latency in ms. */
function client(port: number, key: string) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const body = '{"expires_in":60}';
  const once = () =>
    new Promise<number>((resolve, reject) => {
      const started = process.hrtime.bigint();
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/v1/tokens',
          method: 'POST',
          agent,
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode !== 201) reject(new Error(`POST /v1/tokens answered ${res.statusCode}`));
            else resolve(Number(process.hrtime.bigint() - started) / 1e6);
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  return {
    once,
    async run(n: number, into: number[]) {
      for (let i = 0; i < n; i += 1) into.push(await once());
    },
    close: () => agent.destroy(),
  };
}

export default async function run(): Promise<void> {
  const infra = await startInfra();
  const ports = [0, 1].map(() => 20_000 + Math.floor(Math.random() * 20_000));
  const env = {
    ...benchEnv(infra, 'kb_bench_metering'),
    KB_RATE_LIMIT_OVERRIDE: 'enterprise=1000000',
    KB_KEY_CACHE_TTL_MS: '60000',
    KB_LOG_LEVEL: 'warn',
  };
  const services = await Promise.all([
    spawnService('tenant', { ...env, KB_LOG_LEVEL: 'info' }),
    spawnService('usage', { ...env, KB_LOG_LEVEL: 'info' }),
  ]);
  const gateways = await Promise.all([
    startGateway({ ...env, KB_GATEWAY_PORT: String(ports[0]), KB_LOG_LEVEL: 'info' }, true),
    startGateway({ ...env, KB_GATEWAY_PORT: String(ports[1]), KB_LOG_LEVEL: 'info' }, false),
  ]);
  const log = createLogger({ service: 'bench', version: '0', level: 'silent' });
  const nc = await connectNats(infra.natsUrl, 'metering-bench', log);
  const mongo = await mongoose.createConnection(env.KB_MONGO_URL).asPromise();
  try {
    const api = gatewayApi(`http://127.0.0.1:${ports[0]}`);
    const key = await createTenant(api, env.KB_MASTER_KEY, 'bench', ['search']);

    // 1. Latency with metering on and off, alternating request by request (who goes first alternates too).
    const on = client(ports[0] as number, key.key);
    const off = client(ports[1] as number, key.key);
    await on.run(500, []);
    await off.run(500, []);
    const latencies = { on: [] as number[], off: [] as number[] };
    for (let i = 0; i < PAIRS; i += 1) {
      if (i % 2) {
        latencies.off.push(await off.once());
        latencies.on.push(await on.once());
      } else {
        latencies.on.push(await on.once());
        latencies.off.push(await off.once());
      }
    }
    on.close();
    off.close();
    const [onP50, offP50] = [percentile(latencies.on, 50), percentile(latencies.off, 50)];
    console.log(`\n## Gateway latency, POST /v1/tokens one at a time (${PAIRS} requests each, alternating)`);
    console.log(
      `metering off (baseline)  p50 ${fmt(offP50)} ms  p90 ${fmt(percentile(latencies.off, 90))} ms`,
    );
    console.log(
      `metering on              p50 ${fmt(onP50)} ms  p90 ${fmt(percentile(latencies.on, 90))} ms  ` +
        `ratio ${fmt(onP50 / offP50)} (${fmt((onP50 / offP50 - 1) * 100, 1)}% added, target ≤ 5%)`,
    );

    // 2. Event-to-rollup lag: each organization's daily rollup counts its events, so event k of an
    // organization is in once the rollup's value reaches k.
    const verifier = createContextVerifier(env.KB_CONTEXT_SECRET);
    const delivered = new Map<string, number>();
    const baseline = await consumeDurable(nc, {
      stream: STREAMS.usage,
      durable: 'bench-delivery',
      schema: UsageEvent,
      scope: null,
      verifier,
      log,
      handler: async (event) => {
        delivered.set(event.event_id, performance.now());
      },
    });
    const signer = createContextSigner(env.KB_CONTEXT_SECRET);
    const publisher = createPublisher(nc);
    const rollups = mongo.getClient().db().collection<{ _id: string; value: number }>('usage_rollups');
    const tenants = Array.from({ length: LAG_WORKSPACES }, () => ({
      org: newId('org'),
      ws: newId('workspace'),
    }));
    const sent = new Map<string, { at: number; rollup: string; count: number }>();
    const rolledUp = new Map<string, number>();
    let publishing = true;
    const poller = (async () => {
      while (publishing || rolledUp.size < sent.size) {
        const waiting = [...sent].filter(([id]) => !rolledUp.has(id));
        if (waiting.length > 0) {
          const ids = [...new Set(waiting.map(([, s]) => s.rollup))];
          const found = await rollups.find({ _id: { $in: ids } }).toArray();
          const now = performance.now();
          const values = new Map(found.map((doc) => [doc._id, doc.value]));
          for (const [id, s] of waiting) if ((values.get(s.rollup) ?? 0) >= s.count) rolledUp.set(id, now);
        }
        await sleep(2);
      }
    })();
    const counts = new Map<string, number>();
    for (let i = 0; i < LAG_EVENTS; i += 1) {
      const tenant = tenants[i % tenants.length] as (typeof tenants)[number];
      const context: TenantContext = { ...tenant, kid: 'bench', scopes: [], plan: 'free', rid: `lag-${i}` };
      const event: UsageEvent = {
        v: 1,
        event_id: `bench-lag-${i}-${randomBytes(4).toString('hex')}`,
        org_id: tenant.org,
        workspace_id: tenant.ws,
        occurred_at: new Date().toISOString(),
        metric: 'api_calls',
        value: 1,
      };
      const rollup = `${tenant.org}|_|api_calls|${event.occurred_at.slice(0, 10)}`;
      const count = (counts.get(rollup) ?? 0) + 1;
      counts.set(rollup, count);
      sent.set(event.event_id, { at: performance.now(), rollup, count });
      await publisher.publish(
        meteringSubject(tenant, 'api_calls'),
        UsageEvent,
        event,
        { context, token: signer.sign(context) },
        event.event_id,
      );
      await sleep(LAG_INTERVAL_MS);
    }
    publishing = false;
    await Promise.race([poller, sleep(60_000)]);
    await baseline.stop();
    const lag = (arrived: Map<string, number>) =>
      [...sent].flatMap(([id, s]) => (arrived.has(id) ? [(arrived.get(id) as number) - s.at] : []));
    const [deliveryLag, rollupLag] = [lag(delivered), lag(rolledUp)];
    const [deliveryP99, rollupP99] = [percentile(deliveryLag, 99), percentile(rollupLag, 99)];
    console.log(
      `\n## Event-to-rollup lag (${LAG_EVENTS} api_calls events of ${LAG_WORKSPACES} workspaces, one every ${LAG_INTERVAL_MS} ms; ${rollupLag.length} rolled up)`,
    );
    console.log(
      `delivery to a bare durable consumer (baseline)  p50 ${fmt(percentile(deliveryLag, 50), 1)} ms  p99 ${fmt(deliveryP99, 1)} ms`,
    );
    console.log(
      `usage service: organization rollup in MongoDB   p50 ${fmt(percentile(rollupLag, 50), 1)} ms  p99 ${fmt(rollupP99, 1)} ms  ratio p99 ${fmt(rollupP99 / deliveryP99, 2)}`,
    );
  } finally {
    await mongo.close();
    await nc.drain();
    for (const gateway of gateways) gateway.kill('SIGTERM');
    await Promise.all(services.map((s) => s.stop(10_000)));
    await infra.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await run();
