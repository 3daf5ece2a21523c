import { request as httpRequest } from 'node:http';
import { type ServiceProcess, spawnService } from '@kb/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Answer, isProblem } from './http.ts';
import { NATS_SERVICES, type Platform, startPlatform } from './platform.ts';

/*
 * Rate limits against a gateway whose free plan allows 3 requests per minute per key (so 6 per organization)
 * and 4 unauthenticated requests per minute per address. Every call comes from a loopback address of this
 * file's own, so counts left in Redis by other files (all from 127.0.0.1) cannot interfere.
 */
let platform: Platform;
let gateway: ServiceProcess;
const from = `127.${Math.floor(Math.random() * 200) + 10}.${Math.floor(Math.random() * 250) + 1}.${Math.floor(Math.random() * 250) + 1}`;

type Call = (method: string, path: string, body?: unknown) => Promise<Answer>;

function as(credential?: string, localAddress = from): Call {
  return (method, path, body) =>
    new Promise((resolve, reject) => {
      const url = new URL(path, platform.gatewayUrl);
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

/** An organization with workspaces and one usage:read key each, all made with the (unlimited) master key. */
async function organization(name: string, workspaces: number): Promise<{ id: string; keys: Call[] }> {
  const org = await operator('POST', '/v1/orgs', { name, plan: 'free' });
  expect(org.status).toBe(201);
  const keys: Call[] = [];
  for (let i = 0; i < workspaces; i += 1) {
    const ws = await operator('POST', `/v1/orgs/${org.body.id}/workspaces`, { name: `${name} ${i}` });
    expect(ws.status).toBe(201);
    const key = await operator('POST', `/v1/workspaces/${ws.body.id}/keys`, {
      name: 'k',
      scopes: ['usage:read'],
    });
    expect(key.status).toBe(201);
    keys.push(as(String(key.body.key)));
  }
  return { id: String(org.body.id), keys };
}

beforeAll(async () => {
  platform = await startPlatform(NATS_SERVICES);
  gateway = await spawnService('gateway', {
    ...platform.env,
    KB_RATE_LIMIT_OVERRIDE: 'free=3',
    KB_RATE_LIMIT_ANONYMOUS: '4',
  });
  operator = as(platform.env.KB_MASTER_KEY);
});

afterAll(async () => {
  await gateway?.stop();
  await platform?.stop();
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
  let acme: { id: string; keys: Call[] };
  let globex: { id: string; keys: Call[] };

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
