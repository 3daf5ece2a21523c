import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequester } from '@kb/bus';
import { createContextSigner, generateApiKey, type TenantContext } from '@kb/tenancy';
import { spawnService, startInfra } from '@kb/testing';
import { connect } from '@nats-io/transport-node';
import autocannon from 'autocannon';
import { benchEnv } from './support.ts';

/**
 * Authentication costs, each beside its baseline from the same run:
 * 1. median latency of verifying a valid key vs a well-formed unknown key at the tenant service (should
 *    differ by < 5%, so timing reveals nothing about which keys exist);
 * 2. throughput of an authenticated GET /v1/workspaces/{id} (full path: gateway → NATS → tenant → MongoDB)
 *    and of POST /v1/tokens (the gateway's own work: auth from cache, scope check, signing, validation and
 *    serialisation, no downstream call) vs a bare Fastify route in its own process (target ≥ 0.6).
 */
const VERIFICATIONS = Number(process.env.BENCH_VERIFICATIONS ?? 2_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = 32;

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const fmt = (n: number, digits = 1) => n.toFixed(digits);

async function load(
  url: string,
  init: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string },
) {
  const result = await autocannon({ url, connections: CONNECTIONS, duration: SECONDS, ...init });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return result.requests.average;
}

export default async function run(): Promise<void> {
  const infra = await startInfra();
  const env = benchEnv(infra, 'kb_bench');
  const gatewayUrl = `http://127.0.0.1:${env.KB_GATEWAY_PORT}`;
  const services = await Promise.all([spawnService('tenant', env), spawnService('gateway', env)]);
  const bare = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./bare-server.ts', import.meta.url))],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const [line] = (await once(bare.stdout, 'data')) as [Buffer];
  const bareUrl = (JSON.parse(line.toString()) as { address: string }).address;
  const nc = await connect({ servers: infra.natsUrl });
  try {
    const api = async (method: string, path: string, credential: string, body?: unknown) => {
      const response = await fetch(`${gatewayUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return (await response.json()) as Record<string, string>;
    };
    const org = await api('POST', '/v1/orgs', env.KB_MASTER_KEY, { name: 'bench', plan: 'enterprise' });
    const admin = await api('POST', `/v1/orgs/${org.id}/keys`, env.KB_MASTER_KEY, { name: 'admin' });
    const ws = await api('POST', `/v1/orgs/${org.id}/workspaces`, admin.key as string, { name: 'bench' });
    const key = await api('POST', `/v1/workspaces/${ws.id}/keys`, admin.key as string, {
      name: 'k',
      scopes: ['search'],
    });

    // 1. Verification latency, valid and unknown keys interleaved so drift affects both alike.
    const request = createRequester(nc, { timeoutMs: 5_000 });
    const signer = createContextSigner(env.KB_CONTEXT_SECRET);
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
    const valid = key.key as string;
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
    const mValid = median(timings.valid);
    const mUnknown = median(timings.unknown);
    console.log(
      '\n## API key verification at the tenant service (median of %d each, interleaved)',
      VERIFICATIONS,
    );
    console.log(`valid key            ${fmt(mValid, 3)} ms`);
    console.log(`unknown well-formed  ${fmt(mUnknown, 3)} ms`);
    console.log(
      `ratio unknown/valid  ${fmt(mUnknown / mValid, 3)}  (difference ${fmt((Math.abs(mUnknown - mValid) / mValid) * 100, 1)}%, target < 5%)`,
    );

    // 2. Throughput against a bare Fastify route, measured back to back.
    const auth = { authorization: `Bearer ${admin.key}` };
    const bareRps = await load(`${bareUrl}/v1/bare/${ws.id}`, {});
    const fullRps = await load(`${gatewayUrl}/v1/workspaces/${ws.id}`, { headers: auth });
    const tokenRps = await load(`${gatewayUrl}/v1/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${valid}`, 'content-type': 'application/json' },
      body: '{"expires_in":60}',
    });
    const bareAgain = await load(`${bareUrl}/v1/bare/${ws.id}`, {});
    const baseline = (bareRps + bareAgain) / 2;
    console.log(`\n## Authenticated throughput (${CONNECTIONS} connections, ${SECONDS} s each, req/s)`);
    console.log(
      `bare Fastify route                          ${fmt(baseline, 0)}  (runs: ${fmt(bareRps, 0)}, ${fmt(bareAgain, 0)})`,
    );
    console.log(
      `POST /v1/tokens (gateway's own work)        ${fmt(tokenRps, 0)}  ratio ${fmt(tokenRps / baseline, 2)} (target ≥ 0.6)`,
    );
    console.log(
      `GET /v1/workspaces/{id} (via NATS + tenant) ${fmt(fullRps, 0)}  ratio ${fmt(fullRps / baseline, 2)}`,
    );
  } finally {
    await nc.drain();
    bare.kill('SIGTERM');
    await Promise.all(services.map((s) => s.stop(10_000)));
    await infra.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await run();
