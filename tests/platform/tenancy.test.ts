import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Client, client, isProblem } from './http.ts';
import { type Platform, startPlatform } from './platform.ts';
import { createOrg, createWorkspace, type OrgFixture, type WorkspaceFixture } from './tenants.ts';

let platform: Platform;
let operator: Client;
let anonymous: Client;
let orgA: OrgFixture;
let orgB: OrgFixture;
let wsA: WorkspaceFixture;
let wsB: WorkspaceFixture;

beforeAll(async () => {
  platform = await startPlatform();
  operator = client(platform.gatewayUrl, platform.env.KB_MASTER_KEY);
  anonymous = client(platform.gatewayUrl);
  orgA = await createOrg(platform, 'Acme');
  orgB = await createOrg(platform, 'Globex', 'free');
  wsA = await createWorkspace(platform, orgA, 'acme-prod');
  wsB = await createWorkspace(platform, orgB, 'globex-prod');
});

afterAll(async () => {
  await platform?.stop();
});

describe('operator routes', () => {
  it('creates organizations with the default plan and reads them back', async () => {
    const created = await operator('POST', '/v1/orgs', { name: 'Initech' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'Initech', plan: 'free', status: 'active' });
    expect(created.body.id).toMatch(/^org_[0-9a-z]{26}$/);
    const read = await operator('GET', `/v1/orgs/${created.body.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body);
  });

  it('renames and changes the plan, refusing unknown plans and fields', async () => {
    const renamed = await operator('PATCH', `/v1/orgs/${orgB.id}`, { name: 'Globex Corp', plan: 'pro' });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ name: 'Globex Corp', plan: 'pro' });
    const badPlan = await operator('PATCH', `/v1/orgs/${orgB.id}`, { plan: 'platinum' });
    expect(badPlan.status).toBe(400);
    expect(isProblem(badPlan)).toBe(true);
    expect(String(badPlan.body.detail)).toContain('plan');
    const unknownField = await operator('POST', '/v1/orgs', { name: 'x', owner: 'me' });
    expect(unknownField.status).toBe(400);
    const empty = await operator('PATCH', `/v1/orgs/${orgB.id}`, {});
    expect(empty.status).toBe(400);
  });

  it('answers 404 for an organization that does not exist and 400 for a malformed id', async () => {
    expect((await operator('GET', '/v1/orgs/org_00000000000000000000000000')).status).toBe(404);
    const malformed = await operator('GET', '/v1/orgs/not-an-id');
    expect(malformed.status).toBe(400);
    expect(String(malformed.body.detail)).toContain('org_id');
  });

  it('creates organization-admin keys shown once, in the documented format', async () => {
    const key = await operator('POST', `/v1/orgs/${orgA.id}/keys`, { name: 'second admin' });
    expect(key.status).toBe(201);
    expect(key.body).toMatchObject({ name: 'second admin', scopes: ['org:admin'] });
    expect(key.body.key).toMatch(/^kb_live_[0-9A-Za-z]{38}$/);
    expect(Object.keys(key.body).sort()).toEqual(['created_at', 'expires_at', 'id', 'key', 'name', 'scopes']);
  });

  it('refuses operator routes to organization admins (403) and anonymous callers (401)', async () => {
    const asAdmin = await orgA.admin('GET', `/v1/orgs/${orgA.id}`);
    expect(asAdmin.status).toBe(403);
    expect(isProblem(asAdmin)).toBe(true);
    const noCredential = await anonymous('POST', '/v1/orgs', { name: 'x' });
    expect(noCredential.status).toBe(401);
    expect(isProblem(noCredential)).toBe(true);
  });
});

describe('organization-admin routes', () => {
  it('creates, lists (paginated), reads, updates and deletes workspaces of its own organization', async () => {
    const created = await orgA.admin('POST', `/v1/orgs/${orgA.id}/workspaces`, {
      name: 'acme-dev',
      environment: 'development',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'acme-dev', environment: 'development', org_id: orgA.id });
    const id = created.body.id as string;

    const first = await orgA.admin<{ items: { id: string }[]; next_cursor: string | null }>(
      'GET',
      `/v1/orgs/${orgA.id}/workspaces?limit=1`,
    );
    expect(first.status).toBe(200);
    expect(first.body.items).toHaveLength(1);
    expect(first.body.next_cursor).toBeTypeOf('string');
    const second = await orgA.admin<{ items: { id: string }[]; next_cursor: string | null }>(
      'GET',
      `/v1/orgs/${orgA.id}/workspaces?limit=1&cursor=${first.body.next_cursor}`,
    );
    expect(second.body.items[0]?.id).not.toBe(first.body.items[0]?.id);
    const all = await orgA.admin<{ items: { id: string; org_id: string }[] }>(
      'GET',
      `/v1/orgs/${orgA.id}/workspaces?limit=100`,
    );
    expect(all.body.items.map((w) => w.id)).toEqual(expect.arrayContaining([wsA.id, id]));
    expect(all.body.items.every((w) => w.org_id === orgA.id)).toBe(true);

    const read = await orgA.admin('GET', `/v1/workspaces/${id}`);
    expect(read.status).toBe(200);
    const patched = await orgA.admin('PATCH', `/v1/workspaces/${id}`, {
      name: 'acme-dev-2',
      settings: { chunk_size: 500, chunk_overlap: 50 },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      name: 'acme-dev-2',
      settings: { chunk_size: 500, chunk_overlap: 50 },
    });
    const badOverlap = await orgA.admin('PATCH', `/v1/workspaces/${id}`, {
      settings: { chunk_size: 200, chunk_overlap: 400 },
    });
    expect(badOverlap.status).toBe(400);
    expect(String(badOverlap.body.detail)).toContain('chunk_overlap');

    const deleted = await orgA.admin('DELETE', `/v1/workspaces/${id}`);
    expect(deleted.status).toBe(202);
    expect((await orgA.admin('GET', `/v1/workspaces/${id}`)).status).toBe(404);
  });

  it('lets the operator manage any organization’s workspaces with the master key', async () => {
    const list = await operator<{ items: unknown[] }>('GET', `/v1/orgs/${orgB.id}/workspaces`);
    expect(list.status).toBe(200);
    const read = await operator('GET', `/v1/workspaces/${wsB.id}`);
    expect(read.status).toBe(200);
    expect(read.body.org_id).toBe(orgB.id);
  });

  it('creates workspace keys in the workspace environment’s format and lists them without secrets', async () => {
    const dev = await orgA.admin<{ id: string }>('POST', `/v1/orgs/${orgA.id}/workspaces`, {
      name: 'acme-staging',
      environment: 'staging',
    });
    const testKey = await orgA.admin('POST', `/v1/workspaces/${dev.body.id}/keys`, {
      name: 'ci',
      scopes: ['search'],
    });
    expect(testKey.status).toBe(201);
    expect(testKey.body.key).toMatch(/^kb_test_/);
    expect(wsA.key).toMatch(/^kb_live_/);

    const expires = new Date(Date.now() + 86_400_000).toISOString();
    const expiring = await orgA.admin('POST', `/v1/workspaces/${wsA.id}/keys`, {
      name: 'temp',
      scopes: ['search'],
      expires_at: expires,
    });
    expect(expiring.status).toBe(201);
    expect(Date.parse(String(expiring.body.expires_at))).toBe(Date.parse(expires));
    const past = await orgA.admin('POST', `/v1/workspaces/${wsA.id}/keys`, {
      name: 'old',
      scopes: ['search'],
      expires_at: '2020-01-01T00:00:00Z',
    });
    expect(past.status).toBe(400);
    const badScope = await orgA.admin('POST', `/v1/workspaces/${wsA.id}/keys`, {
      name: 'x',
      scopes: ['org:admin'],
    });
    expect(badScope.status).toBe(400);

    await wsA.as('POST', '/v1/tokens', {});
    const listed = await orgA.admin<{ items: Record<string, unknown>[] }>(
      'GET',
      `/v1/workspaces/${wsA.id}/keys`,
    );
    expect(listed.status).toBe(200);
    const text = JSON.stringify(listed.body);
    expect(text).not.toContain(wsA.key);
    expect(text).not.toContain(wsA.key.slice(12, 30));
    const mine = listed.body.items.find((k) => k.id === wsA.keyId);
    expect(mine).toMatchObject({ prefix: wsA.key.slice(0, 12), revoked_at: null });
    expect(mine).toHaveProperty('last_used_at');
  });

  it('answers 404 for another organization’s objects and 403 to workspace keys', async () => {
    expect((await orgA.admin('GET', `/v1/workspaces/${wsB.id}`)).status).toBe(404);
    expect((await orgA.admin('GET', `/v1/orgs/${orgB.id}/workspaces`)).status).toBe(404);
    expect((await orgA.admin('POST', `/v1/orgs/${orgB.id}/workspaces`, { name: 'intrusion' })).status).toBe(
      404,
    );
    expect((await orgA.admin('DELETE', `/v1/workspaces/${wsB.id}/keys/${wsB.keyId}`)).status).toBe(404);
    expect((await orgA.admin('GET', `/v1/workspaces/${wsB.id}/keys`)).status).toBe(404);
    const asWorkspaceKey = await wsA.as('GET', `/v1/workspaces/${wsA.id}`);
    expect(asWorkspaceKey.status).toBe(403);
    // Org B's key still works: nothing A did touched it.
    expect((await orgB.admin('GET', `/v1/workspaces/${wsB.id}/keys`)).status).toBe(200);
  });
});

describe('credentials', () => {
  it('refuses malformed keys without asking the tenant service', async () => {
    const nc: NatsConnection = await connect({ servers: platform.env.KB_NATS_URL });
    let verifications = 0;
    const spy = nc.subscribe('kb.sys.tenant.keys.verify', {
      callback: () => {
        verifications += 1;
      },
    });
    await nc.flush();
    const tampered = `${wsA.key.slice(0, -1)}${wsA.key.endsWith('a') ? 'b' : 'a'}`;
    for (const bad of [
      tampered,
      'kb_live_short',
      'kb_prod_0123456789012345678901234567890123456789',
      'not-a-key',
    ]) {
      const answer = await client(platform.gatewayUrl, bad)('POST', '/v1/tokens', {});
      expect(answer.status).toBe(401);
      expect(isProblem(answer)).toBe(true);
    }
    await nc.flush();
    expect(verifications).toBe(0);
    // A well-formed key is verified by the tenant service.
    const fresh = await createWorkspace(platform, orgA, 'verify-probe', ['search']);
    await fresh.as('POST', '/v1/tokens', {});
    await nc.flush();
    expect(verifications).toBeGreaterThan(0);
    spy.unsubscribe();
    await nc.drain();
  });

  it('lets keys act only within their scopes and issues search tokens', async () => {
    const readOnly = await createWorkspace(platform, orgA, 'read-only', ['documents:read']);
    const refused = await readOnly.as('POST', '/v1/tokens', {});
    expect(refused.status).toBe(403);
    const issued = await wsA.as<{ token: string; expires_at: string }>('POST', '/v1/tokens', {
      expires_in: 60,
      filter: { metadata: { lang: 'en' } },
    });
    expect(issued.status).toBe(201);
    expect(Date.parse(issued.body.expires_at) - Date.now()).toBeLessThanOrEqual(61_000);
    const tooLong = await wsA.as('POST', '/v1/tokens', { expires_in: 7_200 });
    expect(tooLong.status).toBe(400);
    const fromToken = await client(platform.gatewayUrl, issued.body.token)('POST', '/v1/tokens', {});
    expect(fromToken.status).toBe(403);
    const tokenOnAdminRoute = await client(platform.gatewayUrl, issued.body.token)(
      'GET',
      `/v1/workspaces/${wsA.id}`,
    );
    expect(tokenOnAdminRoute.status).toBe(403);
  });

  it('refuses a revoked key, and a suspended organization’s keys with 403 until reactivated', async () => {
    const victim = await createWorkspace(platform, orgB, 'revocable', ['search']);
    expect((await victim.as('POST', '/v1/tokens', {})).status).toBe(201);
    expect((await orgB.admin('DELETE', `/v1/workspaces/${victim.id}/keys/${victim.keyId}`)).status).toBe(204);
    expect((await victim.as('POST', '/v1/tokens', {})).status).toBe(401);
    expect((await orgB.admin('DELETE', `/v1/workspaces/${victim.id}/keys/${victim.keyId}`)).status).toBe(204);

    expect((await operator('PATCH', `/v1/orgs/${orgB.id}`, { status: 'suspended' })).status).toBe(200);
    const suspended = await wsB.as('POST', '/v1/tokens', {});
    expect(suspended.status).toBe(403);
    expect((await orgB.admin('GET', `/v1/workspaces/${wsB.id}`)).status).toBe(403);
    expect((await wsA.as('POST', '/v1/tokens', {})).status).toBe(201);
    expect((await operator('PATCH', `/v1/orgs/${orgB.id}`, { status: 'active' })).status).toBe(200);
    expect((await wsB.as('POST', '/v1/tokens', {})).status).toBe(201);
  });

  it('refuses the keys of a deleted workspace', async () => {
    const doomed = await createWorkspace(platform, orgA, 'doomed', ['search']);
    expect((await doomed.as('POST', '/v1/tokens', {})).status).toBe(201);
    expect((await orgA.admin('DELETE', `/v1/workspaces/${doomed.id}`)).status).toBe(202);
    expect((await doomed.as('POST', '/v1/tokens', {})).status).toBe(401);
  });

  it('keeps an audit log of key creation and revocation and status changes, with request and key ids', async () => {
    const audit = await operator<{ items: Record<string, unknown>[] }>(
      'GET',
      `/v1/ops/orgs/${orgB.id}/audit?limit=100`,
    );
    expect(audit.status).toBe(200);
    const actions = audit.body.items.map((entry) => String(entry.action));
    expect(actions.some((a) => a.includes('key') && a.includes('creat'))).toBe(true);
    expect(actions.some((a) => a.includes('revok'))).toBe(true);
    expect(actions.some((a) => a.includes('suspend') || a.includes('status'))).toBe(true);
    for (const entry of audit.body.items) {
      expect(entry.org_id).toBe(orgB.id);
      expect(entry.request_id).toBeTypeOf('string');
      expect(entry.key_id).toBeTypeOf('string');
    }
    expect((await orgA.admin('GET', `/v1/ops/orgs/${orgA.id}/audit`)).status).toBe(403);
  });
});
