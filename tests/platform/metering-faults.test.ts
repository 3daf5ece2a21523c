import { randomUUID } from 'node:crypto';
import { connectNats, createRequester, type NatsConnection } from '@kb/bus';
import { createLogger } from '@kb/log';
import { createContextSigner, type TenantContext } from '@kb/tenancy';
import { type ServerHandle, startNats } from '@kb/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Platform, startPlatform } from './platform.ts';
import { createOrg, createWorkspace, type WorkspaceFixture, within } from './tenants.ts';

/*
 * nats-server is killed with SIGKILL at the 1,500th of at least 5,000 metered requests and restarted on the
 * same port and data folder, and requests go on until 1,000 more have started after the restart; afterwards
 * the workspace's api_calls total equals the requests the gateway accepted, exactly. The file has a
 * nats-server of its own, so the crash touches no other test.
 */
const REQUESTS = 5_000;
const AFTER_RESTART = 1_000;
const CONCURRENCY = 16;

let nats: ServerHandle;
let platform: Platform;
let nc: NatsConnection;
let ws: WorkspaceFixture;

beforeAll(async () => {
  nats = await startNats();
  platform = await startPlatform(['gateway', 'tenant', 'usage'], {
    env: {
      KB_NATS_URL: nats.url,
      // The key stays verified across the outage: the requests need no NATS round trip of their own.
      KB_KEY_CACHE_TTL_MS: '60000',
      KB_RATE_LIMIT_OVERRIDE: 'free=1000000,starter=1000000,pro=1000000,enterprise=1000000',
    },
  });
  nc = await connectNats(
    nats.url,
    'metering-faults-test',
    createLogger({ service: 'test', version: '0', level: 'silent' }),
  );
  ws = await createWorkspace(platform, await createOrg(platform, 'Crash metered', 'pro'), 'metered', [
    'search',
  ]);
});

afterAll(async () => {
  await nc?.close();
  await platform?.stop();
  await nats?.destroy();
});

/** The workspace's api_calls total, asked of the usage service directly (a request through the gateway would be metered itself). */
async function apiCalls(): Promise<number> {
  const signer = createContextSigner(platform.env.KB_CONTEXT_SECRET ?? '');
  const context: TenantContext = {
    org: ws.org.id,
    ws: ws.id,
    kid: 'test',
    scopes: ['usage:read'],
    plan: 'pro',
    rid: randomUUID(),
  };
  const report = await createRequester(nc, { timeoutMs: 5_000 })(
    'usage.report.get',
    { context, token: signer.sign(context) },
    { granularity: 'day' },
  );
  return report.items
    .filter((item) => item.metric === 'api_calls')
    .reduce((sum, item) => sum + item.value, 0);
}

describe('metering through a NATS crash', () => {
  it('counts exactly the requests the gateway accepted while nats-server was killed with SIGKILL and restarted', async () => {
    const statuses = new Map<number, number>();
    let started = 0;
    let restartedAt = 0;
    let crash: Promise<void> | undefined;
    const worker = async () => {
      // However fast the gateway answers, the load outlasts the outage by AFTER_RESTART requests.
      while (started < REQUESTS || !restartedAt || started < restartedAt + AFTER_RESTART) {
        started += 1;
        if (started === 1_500) {
          crash = (async () => {
            nats.kill('SIGKILL');
            await new Promise((resolve) => setTimeout(resolve, 2_000));
            await nats.start();
            restartedAt = started;
          })();
        }
        const answer = await ws.as('POST', '/v1/tokens', { expires_in: 60 });
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    await crash;

    // Requests went on through the outage and after the restart.
    expect(restartedAt).toBeGreaterThan(1_600);
    const total = [...statuses.values()].reduce((sum, n) => sum + n, 0);
    expect(total).toBe(started);
    expect(total).toBeGreaterThanOrEqual(Math.max(REQUESTS, restartedAt + AFTER_RESTART));
    // Minting a search token needs nothing but the cached key: every request is accepted, outage or not.
    const accepted = statuses.get(201) ?? 0;
    expect(Object.fromEntries(statuses)).toEqual({ 201: accepted });
    let counted = 0;
    await within(60_000, async () => {
      counted = await apiCalls().catch(() => -1);
      return counted === accepted;
    }).catch(() => undefined);
    expect(counted).toBe(accepted);
    // And it stays so: nothing retried after the restart is counted twice.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(await apiCalls()).toBe(accepted);
  }, 150_000);
});
