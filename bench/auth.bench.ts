import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequester } from '@kb/bus';
import { createContextSigner, generateApiKey, newId, type TenantContext } from '@kb/tenancy';
import { spawnService, startInfra, startNats } from '@kb/testing';
import { connect } from '@nats-io/transport-node';
import autocannon from 'autocannon';
import { benchEnv, cpuOf, cpuPer, cpuSeconds, createTenant, gatewayApi } from './support.ts';

/**
 * Authentication costs, each beside its baseline from the same run:
 * 1. median latency of verifying a valid key vs a well-formed unknown key at the tenant service (should
 *    differ by < 5%, so timing reveals nothing about which keys exist);
 * 2. throughput of an authenticated `GET /v1/workspaces/{id}` against a bare Fastify route. To measure the
 *    gateway's own work (authentication, limits, the signed context, tracing, logging, validation, metering),
 *    the gateway and a bare Fastify route that forwards over NATS both sit in front of the same in-memory
 *    responder (stand-in-tenant.ts) on a NATS server of their own: the target (≥ 0.6) is gateway ÷ forwarder.
 *    Beside each, the CPU time per request of the serving process and of the rest of the set-up (NATS, the
 *    responder, and this process: the load generator, which also reads the gateway's log lines). Also
 *    printed: the same gateway with a tenth of its traces sampled and with OpenTelemetry switched off (what
 *    tracing costs per request; the target applies to the gateway as shipped, every trace sampled), the
 *    gateway against a route with no downstream at all, `POST /v1/tokens` (the gateway's work alone, no
 *    downstream call), and the same GET through the real tenant service and FerretDB. Every server is warmed up
 *    under the same load first (BENCH_WARM_UP_SECONDS each), then measured twice, alternating.
 */
const VERIFICATIONS = Number(process.env.BENCH_VERIFICATIONS ?? 2_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = 32;
const WARM_UP_SECONDS = Number(process.env.BENCH_WARM_UP_SECONDS ?? 3);

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const fmt = (n: number, digits = 1) => n.toFixed(digits);

async function load(
  url: string,
  init: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string } = {},
) {
  return (await measured(url, init)).rate;
}

/**
 * Requests per second at `url`, and, given the pid of the process serving it, that process's CPU time per
 * request: less sensitive than throughput to what else the machine is doing. `others` (name → pid): the
 * CPU time per request of the rest of the set-up too (µs).
 */
async function measured(
  url: string,
  init: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string } = {},
  pid?: number,
  others: Record<string, number> = {},
) {
  const cpuBefore = pid === undefined ? 0 : cpuSeconds(pid);
  const othersBefore = cpuOf(others);
  const result = await autocannon({ url, connections: CONNECTIONS, duration: SECONDS, ...init });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  const cpuUs = pid === undefined ? 0 : ((cpuSeconds(pid) - cpuBefore) * 1e6) / result.requests.total;
  const othersUs = cpuPer(othersBefore, cpuOf(others), result.requests.total / 1_000);
  return { rate: result.requests.average, cpuUs, othersUs };
}

/** A bench process of this folder that prints one JSON line when it is ready. */
async function startProcess(file: string, env: Record<string, string>) {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', fileURLToPath(new URL(file, import.meta.url))],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } },
  );
  const [line] = (await once(child.stdout as NodeJS.ReadableStream, 'data')) as [Buffer];
  child.stdout?.resume();
  const ready = JSON.parse(line.toString().split('\n')[0] ?? '{}') as { address?: string };
  return {
    address: ready.address ?? '',
    pid: child.pid as number,
    async stop() {
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

async function verificationLatency(natsUrl: string, contextSecret: string, valid: string) {
  const nc = await connect({ servers: natsUrl });
  try {
    // Valid and unknown keys interleaved, in both orders, so drift affects both alike.
    const request = createRequester(nc, { timeoutMs: 5_000 });
    const signer = createContextSigner(contextSecret);
    const context: TenantContext = {
      org: 'sys',
      ws: '_',
      kid: 'gateway',
      scopes: ['system'],
      plan: '',
      rid: 'bench',
    };
    const caller = { context, token: signer.sign(context) };
    const unknown = generateApiKey('live').key;
    const timings = { valid: [] as number[], unknown: [] as number[] };
    const time = async (which: 'valid' | 'unknown') => {
      const started = process.hrtime.bigint();
      await request('tenant.keys.verify', caller, { key: which === 'valid' ? valid : unknown }).catch(
        () => undefined,
      );
      timings[which].push(Number(process.hrtime.bigint() - started) / 1e6);
    };
    for (let i = 0; i < 200; i += 1) await time(i % 2 ? 'valid' : 'unknown');
    timings.valid.length = 0;
    timings.unknown.length = 0;
    for (let i = 0; i < VERIFICATIONS; i += 1) {
      await time(i % 2 ? 'valid' : 'unknown');
      await time(i % 2 ? 'unknown' : 'valid');
    }
    return { valid: median(timings.valid), unknown: median(timings.unknown) };
  } finally {
    await nc.drain();
  }
}

export default async function run(): Promise<void> {
  const infra = await startInfra();
  const isolatedNats = await startNats();
  const env = { ...benchEnv(infra, 'kb_bench'), KB_RATE_LIMIT_OVERRIDE: 'enterprise=9000000' };
  const gatewayUrl = `http://127.0.0.1:${env.KB_GATEWAY_PORT}`;
  const services = await Promise.all([spawnService('tenant', env), spawnService('gateway', env)]);
  const others: { stop(): Promise<void> }[] = [];
  try {
    const api = gatewayApi(gatewayUrl);
    const tenant = await createTenant(api, env.KB_MASTER_KEY, 'bench', ['search']);

    const latency = await verificationLatency(infra.natsUrl, env.KB_CONTEXT_SECRET, tenant.key);
    console.log(
      '\n## API key verification at the tenant service (median of %d each, interleaved)',
      VERIFICATIONS,
    );
    console.log(`valid key            ${fmt(latency.valid, 3)} ms`);
    console.log(`unknown well-formed  ${fmt(latency.unknown, 3)} ms`);
    const difference = (Math.abs(latency.unknown - latency.valid) / latency.valid) * 100;
    console.log(
      `ratio unknown/valid  ${fmt(latency.unknown / latency.valid, 3)}  (difference ${fmt(difference, 1)}%, target < 5%)`,
    );

    // The isolated set-up: its own NATS server, the in-memory responder, a gateway and the bare server.
    const org = newId('org');
    const adminKey = generateApiKey('live').key;
    const ws = newId('workspace');
    const isolated = { KB_NATS_URL: isolatedNats.url, BENCH_ORG: org, BENCH_KEY_ID: newId('key') };
    const responder = await startProcess('./stand-in-tenant.ts', isolated);
    others.push(responder);
    // The rest of the set-up each run loads: what it costs per request depends on the request rate too.
    const setUp = { NATS: isolatedNats.pid, responder: responder.pid, 'this process': process.pid };
    // The gateway as shipped (every trace sampled), and two variants showing what tracing costs: a tenth of
    // the traces sampled, and OpenTelemetry switched off altogether (the standard OTEL_SDK_DISABLED).
    const gatewayOn = async (offset: number, extra: Record<string, string> = {}) => {
      const port = String(Number(env.KB_GATEWAY_PORT) + offset);
      const gateway = await spawnService('gateway', {
        ...env,
        ...extra,
        KB_NATS_URL: isolatedNats.url,
        KB_GATEWAY_PORT: port,
      });
      services.push(gateway);
      return { gateway, port };
    };
    const { gateway: isolatedGateway, port: isolatedPort } = await gatewayOn(1);
    const variants: { label: string; env: Record<string, string> }[] = [
      {
        label: 'gateway GET, same responder, a tenth of traces sampled (KB_TRACE_SAMPLE_RATIO=0.1)',
        env: { KB_TRACE_SAMPLE_RATIO: '0.1' },
      },
      {
        label: 'gateway GET, same responder, OpenTelemetry off (OTEL_SDK_DISABLED=true)',
        env: { OTEL_SDK_DISABLED: 'true' },
      },
    ];
    const variantGateways: Awaited<ReturnType<typeof gatewayOn>>[] = [];
    for (const [i, variant] of variants.entries()) variantGateways.push(await gatewayOn(2 + i, variant.env));
    const bare = await startProcess('./bare-server.ts', isolated);
    others.push(bare);

    const asAdmin = { headers: { authorization: `Bearer ${adminKey}` } };
    const read = `http://127.0.0.1:${isolatedPort}/v1/workspaces/${ws}`;
    const cpu = { forward: [] as number[], gateway: [] as number[] };
    const setUpCpu = { forward: [] as string[], gateway: [] as string[] };
    const variantRuns = variants.map(() => ({ rates: [] as number[], cpuUs: [] as number[] }));
    const measure = async () => {
      const forward = await measured(`${bare.address}/v1/forward/${ws}`, {}, bare.pid, setUp);
      const gateway = await measured(read, asAdmin, isolatedGateway.pid, setUp);
      cpu.forward.push(forward.cpuUs);
      cpu.gateway.push(gateway.cpuUs);
      setUpCpu.forward.push(forward.othersUs.text);
      setUpCpu.gateway.push(gateway.othersUs.text);
      for (const [i, { gateway: variant, port }] of variantGateways.entries()) {
        const run = await measured(`http://127.0.0.1:${port}/v1/workspaces/${ws}`, asAdmin, variant.pid);
        variantRuns[i]?.rates.push(run.rate);
        variantRuns[i]?.cpuUs.push(run.cpuUs);
      }
      return {
        bare: await load(`${bare.address}/v1/bare/${ws}`),
        forward: forward.rate,
        gateway: gateway.rate,
      };
    };
    // Every server answers load for a while before anything is measured: the first seconds of a fresh
    // process are spent compiling its hot paths, and the gateway has more of them than the forwarder.
    const warmUp = async () => {
      const targets = [
        { url: `${bare.address}/v1/forward/${ws}`, init: {} },
        { url: read, init: asAdmin },
        ...variantGateways.map(({ port }) => ({
          url: `http://127.0.0.1:${port}/v1/workspaces/${ws}`,
          init: asAdmin,
        })),
      ];
      for (const { url, init } of targets)
        await autocannon({ url, connections: CONNECTIONS, duration: WARM_UP_SECONDS, ...init });
    };
    await warmUp();
    const first = await measure();
    const tokens = await load(`${gatewayUrl}/v1/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tenant.key}`, 'content-type': 'application/json' },
      body: '{"expires_in":60}',
    });
    const endToEnd = await load(`${gatewayUrl}/v1/workspaces/${tenant.ws}`, {
      headers: { authorization: `Bearer ${tenant.adminKey}` },
    });
    const second = await measure();
    const mean = (key: keyof typeof first) => (first[key] + second[key]) / 2;
    const [b, f, g] = [mean('bare'), mean('forward'), mean('gateway')];
    const runs = (key: keyof typeof first) => `(runs: ${fmt(first[key], 0)}, ${fmt(second[key], 0)})`;
    console.log(`\n## Authenticated throughput (${CONNECTIONS} connections, ${SECONDS} s each, req/s)`);
    console.log(`bare Fastify route                                   ${fmt(b, 0)}  ${runs('bare')}`);
    console.log(`bare Fastify route forwarding over NATS              ${fmt(f, 0)}  ${runs('forward')}`);
    console.log(
      `gateway GET /v1/workspaces/{id}, same responder      ${fmt(g, 0)}  ${runs('gateway')}  ` +
        `ratio to the forwarder ${fmt(g / f, 2)} (target ≥ 0.6: the gateway's own work), to the bare route ${fmt(g / b, 2)}`,
    );
    const cpuMean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
    const [cf, cg] = [cpuMean(cpu.forward), cpuMean(cpu.gateway)];
    console.log(
      `CPU per request of the serving process: forwarder ${fmt(cf, 0)} µs, gateway ${fmt(cg, 0)} µs ` +
        `(forwarder ÷ gateway ${fmt(cf / cg, 2)}; runs: ${cpu.forward.map((v) => fmt(v, 0)).join(', ')} and ${cpu.gateway.map((v) => fmt(v, 0)).join(', ')})`,
    );
    console.log(
      `CPU per request of the rest of the set-up, µs (runs joined by |): with the forwarder ${setUpCpu.forward.join(' | ')}; ` +
        `with the gateway ${setUpCpu.gateway.join(' | ')} (this process: the load generator, which also reads the gateway's log lines). At the gateway's lower rate each NATS message and answer ` +
        'costs these processes more (fewer arrive per wake-up), so its own CPU per request understates what it costs the machine',
    );
    for (const [i, variant] of variants.entries()) {
      const run = variantRuns[i] as { rates: number[]; cpuUs: number[] };
      const rate = cpuMean(run.rates);
      console.log(
        `${variant.label.padEnd(82)} ${fmt(rate, 0)}  ratio to the forwarder ${fmt(rate / f, 2)}, ` +
          `CPU per request ${fmt(cpuMean(run.cpuUs), 0)} µs (runs: ${run.rates.map((r) => fmt(r, 0)).join(', ')})`,
      );
    }
    console.log(
      `gateway POST /v1/tokens, no downstream call          ${fmt(tokens, 0)}  ratio to the bare route ${fmt(tokens / b, 2)}`,
    );
    console.log(
      `gateway GET /v1/workspaces/{id}, tenant + FerretDB   ${fmt(endToEnd, 0)}  ratio to the bare route ${fmt(endToEnd / b, 2)}`,
    );
  } finally {
    await Promise.all(others.map((process) => process.stop()));
    await Promise.all(services.map((s) => s.stop(10_000)));
    await isolatedNats.destroy();
    await infra.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await run();
