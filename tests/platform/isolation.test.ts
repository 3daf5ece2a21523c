import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Answer, type Client, client, isProblem } from './http.ts';
import { type Platform, startPlatform } from './platform.ts';
import { createOrg, createWorkspace, type OrgFixture, type WorkspaceFixture } from './tenants.ts';

let platform: Platform;
let attacker: OrgFixture;
let victim: OrgFixture;
let attackerWs: WorkspaceFixture;
let victimWs: WorkspaceFixture;
let victimSnapshot: string;

/** Everything the victim's admin can see; compared before and after the attacks. */
async function snapshot(): Promise<string> {
  const workspaces = await victim.admin<{ items: unknown[] }>(
    'GET',
    `/v1/orgs/${victim.id}/workspaces?limit=100`,
  );
  const keys = await victim.admin<{ items: Record<string, unknown>[] }>(
    'GET',
    `/v1/workspaces/${victimWs.id}/keys?limit=100`,
  );
  const keyState = keys.body.items.map(({ last_used_at: _ignored, ...rest }) => rest);
  return JSON.stringify({ workspaces: workspaces.body.items, keys: keyState });
}

beforeAll(async () => {
  platform = await startPlatform();
  attacker = await createOrg(platform, 'Mallory Inc');
  victim = await createOrg(platform, 'Victim Ltd');
  attackerWs = await createWorkspace(platform, attacker, 'mallory-ws');
  victimWs = await createWorkspace(platform, victim, 'victim-ws');
  victimSnapshot = await snapshot();
});

afterAll(async () => {
  await platform?.stop();
});

type Route = { method: string; path: (ids: Ids) => string; body?: unknown };
type Ids = { org: string; ws: string; key: string };

const ROUTES: Route[] = [
  { method: 'GET', path: (i) => `/v1/orgs/${i.org}` },
  { method: 'PATCH', path: (i) => `/v1/orgs/${i.org}`, body: { name: 'pwned' } },
  { method: 'POST', path: (i) => `/v1/orgs/${i.org}/keys`, body: { name: 'pwned' } },
  { method: 'GET', path: (i) => `/v1/ops/orgs/${i.org}/audit` },
  { method: 'POST', path: (i) => `/v1/orgs/${i.org}/workspaces`, body: { name: 'pwned' } },
  { method: 'GET', path: (i) => `/v1/orgs/${i.org}/workspaces` },
  { method: 'GET', path: (i) => `/v1/workspaces/${i.ws}` },
  { method: 'PATCH', path: (i) => `/v1/workspaces/${i.ws}`, body: { name: 'pwned' } },
  { method: 'DELETE', path: (i) => `/v1/workspaces/${i.ws}` },
  { method: 'POST', path: (i) => `/v1/workspaces/${i.ws}/keys`, body: { name: 'pwned', scopes: ['search'] } },
  { method: 'GET', path: (i) => `/v1/workspaces/${i.ws}/keys` },
  { method: 'DELETE', path: (i) => `/v1/workspaces/${i.ws}/keys/${i.key}` },
];

const HOSTILE_IDS = [
  'org_01.x',
  'ws_*',
  '>',
  'ws_01hzzzzzzzzzzzzzzzzzzzzzz%20',
  'ws_01hzzzzzzzzzzzzzzzzzzzzz%09',
  'ws_01hzzzzzzzzzzzzzzzzzzzzz%00',
  'ws_01hzzzzzzzzzzzzzzzzzzzzzé',
  `ws_${'a'.repeat(300)}`,
  '..%2F..%2Fetc%2Fpasswd',
  '%2E%2E',
  '__proto__',
  'constructor',
];

function expectRefused(answer: Answer, label: string) {
  expect(isProblem(answer), `${label} answered ${answer.status} ${JSON.stringify(answer.body)}`).toBe(true);
  const text = JSON.stringify(answer.body);
  expect(text, label).not.toContain(victim.id);
  expect(text, label).not.toContain(victimWs.id);
  expect(text, label).not.toContain('Victim Ltd');
}

describe('isolation: no route lets one tenant reach another', () => {
  it('refuses the other tenant’s ids on every route, for its admin key and its workspace key', async () => {
    const foreign: Ids = { org: victim.id, ws: victimWs.id, key: victimWs.keyId };
    for (const as of [attacker.admin, attackerWs.as]) {
      for (const route of ROUTES) {
        const answer = await as(route.method, route.path(foreign), route.body);
        expectRefused(answer, `${route.method} ${route.path(foreign)}`);
        expect([403, 404]).toContain(answer.status);
      }
    }
  });

  it('ignores forged Kb-* headers: the credential alone decides the tenant', async () => {
    const forged = {
      'kb-org': victim.id,
      'kb-workspace': victimWs.id,
      'kb-context': 'eyJhbGciOiJIUzI1NiJ9.eyJvcmciOiJ4In0.c2ln',
      'kb-request-id': 'forged',
    };
    const own = await attacker.admin<{ items: { org_id: string }[] }>(
      'GET',
      `/v1/orgs/${attacker.id}/workspaces`,
      undefined,
      forged,
    );
    expect(own.status).toBe(200);
    expect(own.body.items.every((w) => w.org_id === attacker.id)).toBe(true);
    const created = await attacker.admin(
      'POST',
      `/v1/orgs/${attacker.id}/workspaces`,
      { name: 'forged-headers' },
      forged,
    );
    expect(created.status).toBe(201);
    expect(created.body.org_id).toBe(attacker.id);
    for (const route of ROUTES) {
      const path = route.path({ org: victim.id, ws: victimWs.id, key: victimWs.keyId });
      expectRefused(
        await attacker.admin(route.method, path, route.body, forged),
        `forged ${route.method} ${path}`,
      );
    }
    const anonymous = await client(platform.gatewayUrl)(
      'GET',
      `/v1/workspaces/${victimWs.id}`,
      undefined,
      forged,
    );
    expect(anonymous.status).toBe(401);
  });

  it('refuses hostile ids (subject tokens, whitespace, NUL, non-ASCII, oversized, traversal) with 4xx problems', async () => {
    const callers: Client[] = [attacker.admin, client(platform.gatewayUrl, platform.env.KB_MASTER_KEY)];
    for (const as of callers) {
      for (const hostile of HOSTILE_IDS) {
        for (const route of ROUTES) {
          const path = route.path({ org: hostile, ws: hostile, key: hostile });
          const answer = await as(route.method, path, route.body);
          expectRefused(answer, `${route.method} ${path}`);
        }
      }
    }
  });

  it('refuses __proto__ and constructor keys in bodies', async () => {
    const bodies = [
      '{"name":"x","__proto__":{"org_id":"VICTIM"}}',
      '{"name":"x","constructor":{"prototype":{"admin":true}}}',
      '{"name":"x","settings":{"__proto__":{"limits":{}}}}',
    ].map((b) => b.replace('VICTIM', victim.id));
    const targets: [Client, string, string][] = [
      [attacker.admin, 'POST', `/v1/orgs/${attacker.id}/workspaces`],
      [attacker.admin, 'PATCH', `/v1/workspaces/${attackerWs.id}`],
      [attacker.admin, 'POST', `/v1/workspaces/${attackerWs.id}/keys`],
      [client(platform.gatewayUrl, platform.env.KB_MASTER_KEY), 'POST', '/v1/orgs'],
      [attackerWs.as, 'POST', '/v1/tokens'],
    ];
    for (const [as, method, path] of targets) {
      for (const body of bodies) {
        const answer = await as(method, path, body);
        expectRefused(answer, `${method} ${path} ${body}`);
        expect(answer.status).toBe(400);
      }
    }
  });

  it('leaves the victim’s data exactly as it was, and its keys working', async () => {
    expect(await snapshot()).toBe(victimSnapshot);
    expect((await victimWs.as('POST', '/v1/tokens', {})).status).toBe(201);
    const org = await client(platform.gatewayUrl, platform.env.KB_MASTER_KEY)('GET', `/v1/orgs/${victim.id}`);
    expect(org.body.name).toBe('Victim Ltd');
  });
});
