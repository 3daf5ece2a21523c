import { request as httpRequest } from 'node:http';
import { type ServerHandle, type ServiceProcess, spawnService, startRedis } from '@kb/testing';
import getPort from 'get-port';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DocumentsPlatform,
  type DocumentView,
  settled,
  startDocumentsPlatform,
} from './documents.helpers.ts';
import { type Answer, isProblem } from './http.ts';
import { NATS_SERVICES, type Platform } from './platform.ts';
import { createOrg, createWorkspace, within } from './tenants.ts';

/*
 * Rate limits against a gateway whose free plan allows 3 requests per minute per key (so 6 per organization)
 * and 4 unauthenticated requests per minute per address. Every call comes from a loopback address of this
 * file's own, so counts left in Redis by other files (all from 127.0.0.1) cannot interfere. Quotas, which
 * need uploads and polling, go through a second gateway with the platform's generous test rates.
 */
let dp: DocumentsPlatform;
let platform: Platform;
let gateway: ServiceProcess;
const loopback = () =>
  `127.${Math.floor(Math.random() * 200) + 10}.${Math.floor(Math.random() * 250) + 1}.${Math.floor(Math.random() * 250) + 1}`;
const from = loopback();
/** Another address, for the tests after the one that uses up `from`'s unauthenticated allowance. */
const spare = loopback();

type Call = (method: string, path: string, body?: unknown) => Promise<Answer>;

function as(credential?: string, localAddress = from, base = platform.gatewayUrl): Call {
  return (method, path, body) =>
    new Promise((resolve, reject) => {
      const url = new URL(path, base);
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = httpRequest(
        url,
        {
          method,
          localAddress,
          headers: {
            ...(credential ? { authorization: `Bearer ${credential}` } : {}),
            ...(payload ? { 'content-type': 'application/json' } : {}),
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
          });
          res.on('end', () => {
            const headers = new Headers();
            for (const [name, value] of Object.entries(res.headers)) {
              if (typeof value === 'string') headers.set(name, value);
            }
            let parsed: unknown = text;
            try {
              parsed = text ? JSON.parse(text) : null;
            } catch {
              // keep the text
            }
            resolve({ status: res.statusCode ?? 0, body: parsed as never, headers });
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
}

let operator: Call;

interface Organization {
  id: string;
  keys: Call[];
  /** The keys themselves and their ids, for calls through another gateway. */
  secrets: { key: string; id: string }[];
}

/** An organization with workspaces and one usage:read key each, all made with the (unlimited) master key. */
async function organization(name: string, workspaces: number, address = from): Promise<Organization> {
  const master = as(platform.env.KB_MASTER_KEY, address);
  const org = await master('POST', '/v1/orgs', { name, plan: 'free' });
  expect(org.status).toBe(201);
  const keys: Call[] = [];
  const secrets: Organization['secrets'] = [];
  for (let i = 0; i < workspaces; i += 1) {
    const ws = await master('POST', `/v1/orgs/${org.body.id}/workspaces`, { name: `${name} ${i}` });
    expect(ws.status).toBe(201);
    const key = await master('POST', `/v1/workspaces/${ws.body.id}/keys`, {
      name: 'k',
      scopes: ['usage:read'],
    });
    expect(key.status).toBe(201);
    keys.push(as(String(key.body.key), address));
    secrets.push({ key: String(key.body.key), id: String(key.body.id) });
  }
  return { id: String(org.body.id), keys, secrets };
}

beforeAll(async () => {
  dp = await startDocumentsPlatform({}, NATS_SERVICES);
  platform = dp.platform;
  gateway = await spawnService('gateway', {
    ...platform.env,
    KB_RATE_LIMIT_OVERRIDE: 'free=3',
    KB_RATE_LIMIT_ANONYMOUS: '4',
  });
  operator = as(platform.env.KB_MASTER_KEY);
});

afterAll(async () => {
  await gateway?.stop();
  await dp?.stop();
});

function expectRateLimited(answer: Answer, limit: string, detail: RegExp) {
  expect(answer.status).toBe(429);
  expect(isProblem(answer)).toBe(true);
  expect(answer.body.type).toBe('urn:kb:problem:rate-limited');
  expect(String(answer.body.detail)).toMatch(detail);
  const retryAfter = Number(answer.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(answer.headers.get('ratelimit-limit')).toBe(limit);
  expect(answer.headers.get('ratelimit-remaining')).toBe('0');
  expect(Number(answer.headers.get('ratelimit-reset'))).toBe(retryAfter);
}

describe('rate limits', () => {
  let acme: Organization;
  let globex: Organization;

  beforeAll(async () => {
    acme = await organization('Acme', 3);
    globex = await organization('Globex', 1);
  });

  it('allow each key its plan’s requests per minute, then answer 429 with Retry-After and RateLimit headers', async () => {
    const [first] = acme.keys as [Call];
    const remaining: (string | null)[] = [];
    for (let i = 0; i < 3; i += 1) {
      const answer = await first('GET', '/v1/quotas');
      expect(answer.status).toBe(200);
      expect(answer.headers.get('ratelimit-limit')).toBe('3');
      remaining.push(answer.headers.get('ratelimit-remaining'));
    }
    expect(remaining).toEqual(['2', '1', '0']);
    expectRateLimited(await first('GET', '/v1/quotas'), '3', /this key/);
    // Refused requests are not metered as API calls, and do not count against the organization.
  });

  it('allow the organization twice that across its keys', async () => {
    const [, second, third] = acme.keys as [Call, Call, Call];
    for (let i = 0; i < 3; i += 1) expect((await second('GET', '/v1/usage')).status).toBe(200);
    expectRateLimited(await third('GET', '/v1/usage'), '6', /organization/);
  });

  it('do not let one organization’s burst limit another', async () => {
    const [key] = globex.keys as [Call];
    const answer = await key('GET', '/v1/quotas');
    expect(answer.status).toBe(200);
    expect(answer.headers.get('ratelimit-remaining')).toBe('2');
  });

  it('leave the operator, health, readiness and docs alone', async () => {
    const anonymous = as();
    for (let i = 0; i < 6; i += 1) {
      expect((await anonymous('GET', '/healthz')).status).toBe(200);
      expect((await anonymous('GET', '/openapi.json')).status).toBe(200);
      expect((await operator('GET', `/v1/orgs/${acme.id}`)).status).toBe(200);
    }
  });

  it('limit unauthenticated requests per address, bad credentials included, and no other address', async () => {
    const anonymous = as();
    const forged = as('kb_live_0000000000000000000000000000000000000000');
    for (const call of [anonymous, forged, anonymous, forged])
      expect((await call('GET', '/v1/quotas')).status).toBe(401);
    expectRateLimited(await anonymous('GET', '/v1/quotas'), '4', /unauthenticated/);
    // The address is refused before any credential lookup for the rest of the window…
    expect((await (globex.keys[0] as Call)('GET', '/v1/quotas')).status).toBe(429);
    // …health checks still answer, and other addresses are not affected.
    expect((await anonymous('GET', '/healthz')).status).toBe(200);
    const elsewhere = `127.0.${Math.floor(Math.random() * 250) + 1}.${Math.floor(Math.random() * 250) + 1}`;
    expect((await as(undefined, elsewhere)('GET', '/v1/quotas')).status).toBe(401);
  });
});

describe('the issue’s limits', () => {
  let open: ServiceProcess;
  let openUrl: string;

  beforeAll(async () => {
    const port = await getPort();
    open = await spawnService('gateway', { ...platform.env, KB_GATEWAY_PORT: String(port) });
    openUrl = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await open?.stop();
  });

  it('a free-plan workspace is refused at its document limit with the documented problem while other tenants are unaffected; offered five times its rate limit, a key gets no more than the limit per window', async () => {
    const viaOpen = { ...platform, gatewayUrl: openUrl };
    const freeOrg = await createOrg(viaOpen, 'Free docs', 'free');
    const full = await createWorkspace(viaOpen, freeOrg, 'full');
    const sibling = await createWorkspace(viaOpen, freeOrg, 'sibling');
    const other = await createWorkspace(viaOpen, await createOrg(viaOpen, 'Other free', 'free'), 'other');
    // The workspace's document limit: 2, set by its organization's admin within the free plan's 1,000.
    const patched = await freeOrg.admin('PATCH', `/v1/workspaces/${full.id}`, {
      settings: { limits: { documents: 2 } },
    });
    expect(patched.status).toBe(200);
    for (const text of ['Kestrels hover.', 'Herons wait.']) {
      const accepted = await full.as<DocumentView>('POST', '/v1/documents', { content: text });
      expect(accepted.status).toBe(202);
      expect((await settled(full, accepted.body.id)).status).toBe('ready');
    }
    type Quotas = { items: { metric: string; limit: number; used: number }[] };
    await within(15_000, async () => {
      const documents = (await full.as<Quotas>('GET', '/v1/quotas')).body.items[0];
      return documents?.limit === 2 && documents.used === 2;
    });

    // The gateway spends the room the usage service last reported for up to a second (README, "Usage
    // and limits"); past that, every upload asks again.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const refused = await full.as('POST', '/v1/documents', { content: 'Storks migrate.' });
    expect(refused.status).toBe(429);
    expect(isProblem(refused)).toBe(true);
    expect(refused.body).toMatchObject({ type: 'urn:kb:problem:quota-exceeded', title: 'Quota exceeded' });
    expect(String(refused.body.detail)).toMatch(/workspace's documents quota of 2 has 0 left/);
    expect(refused.headers.get('retry-after')).toBe('3600');
    for (const unaffected of [sibling, other]) {
      expect((await unaffected.as('POST', '/v1/documents', { content: 'Cranes dance.' })).status).toBe(202);
    }

    // Five times the free plan's 3 requests per minute, all at once, from one key of a fresh organization.
    const burst = await organization('Burst', 1, spare);
    const [key] = burst.keys as [Call];
    const answers = await Promise.all(Array.from({ length: 15 }, () => key('GET', '/v1/quotas')));
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(3);
    expect(statuses.filter((status) => status === 429)).toHaveLength(12);
    for (const answer of answers.filter((a) => a.status === 429)) {
      expect(answer.body.type).toBe('urn:kb:problem:rate-limited');
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    const bystander = await organization('Bystander', 1, spare);
    expect((await (bystander.keys[0] as Call)('GET', '/v1/quotas')).status).toBe(200);
  });
});

/*
 * The gateway fails open to memory when its Redis is unreachable (README "Rate limits"): it keeps answering,
 * every replica enforcing each limit on its own, and shares windows through Redis again once it is back.
 * This gateway has a redis-server of its own, which the test stops and starts.
 */
describe('rate limits while Redis is unreachable', () => {
  let redis: ServerHandle;
  let lone: ServiceProcess;
  let loneUrl: string;

  beforeAll(async () => {
    redis = await startRedis({ persist: false });
    const port = await getPort();
    lone = await spawnService('gateway', {
      ...platform.env,
      KB_REDIS_URL: redis.url,
      KB_GATEWAY_PORT: String(port),
      KB_RATE_LIMIT_OVERRIDE: 'free=3',
    });
    loneUrl = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await lone?.stop();
    await redis?.destroy();
  });

  it('keep every key to its limit from the gateway’s memory, then count in Redis again once it is back', async () => {
    const org = await organization('Unshared', 1, spare);
    const { key, id } = org.secrets[0] as Organization['secrets'][number];
    const call = as(key, spare, loneUrl);
    await redis.stop();

    const answers: Answer[] = [];
    for (let i = 0; i < 5; i += 1) answers.push(await call('GET', '/v1/quotas'));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 429, 429]);
    expect(answers.slice(0, 3).map((answer) => answer.headers.get('ratelimit-remaining'))).toEqual([
      '2',
      '1',
      '0',
    ]);
    expectRateLimited(answers[4] as Answer, '3', /this key/);
    // Readiness says what is missing, as the API contract asks, while the API itself keeps answering.
    expect((await as(undefined, spare, loneUrl)('GET', '/readyz')).status).toBe(503);

    await redis.start();
    // Redis holds no window for the key yet: once the gateway counts there again, the key is let through.
    await within(20_000, async () => (await call('GET', '/v1/quotas')).status === 200);
    const store = new Redis(redis.url);
    try {
      expect(Number(await store.get(`kb:ratelimit:key:${id}`))).toBeGreaterThanOrEqual(1);
    } finally {
      store.disconnect();
    }
  });
});
