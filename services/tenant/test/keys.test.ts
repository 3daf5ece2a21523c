import { effectiveLimits } from '@kb/contracts';
import { hashApiKey, KEY_PREFIX_LENGTH, newId } from '@kb/tenancy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createKey,
  createOrg,
  createWorkspace,
  eventually,
  type Harness,
  KEY_HASH_SECRET,
  logLines,
  orgAdmin,
  startTenant,
  watchRevocations,
} from './helpers.js';

let h: Harness;
const issued: string[] = [];

beforeAll(async () => {
  h = await startTenant();
});

afterAll(async () => {
  await h?.stop();
});

async function issue(org: string, ws: string, body: Parameters<typeof createKey>[3] = {}) {
  const created = await createKey(h, org, ws, body);
  issued.push(created.key);
  return created;
}

describe('tenant.keys.create', () => {
  it('issues a key once, live for production workspaces and test otherwise', async () => {
    const org = await createOrg(h);
    const prod = await createWorkspace(h, org, 'production');
    const created = await issue(org, prod.id, { scopes: ['search', 'documents:read'] });
    expect(created).toMatchObject({ name: 'key', scopes: ['search', 'documents:read'], expires_at: null });
    expect(created.id).toMatch(/^key_[0-9a-z]{26}$/);
    expect(created.key).toMatch(/^kb_live_[0-9A-Za-z]{38}$/);
    for (const environment of ['development', 'staging'] as const) {
      const ws = await createWorkspace(h, org, environment);
      expect((await issue(org, ws.id)).key).toMatch(/^kb_test_/);
    }
  });

  it('accepts a future expiry and refuses a past one, naming the field', async () => {
    const org = await createOrg(h);
    const ws = await createWorkspace(h, org);
    const later = new Date(Date.now() + 3_600_000).toISOString();
    expect((await issue(org, ws.id, { expires_at: later })).expires_at).toBe(later);
    const past = new Date(Date.now() - 1_000).toISOString();
    await expect(createKey(h, org, ws.id, { expires_at: past })).rejects.toMatchObject({
      code: 'invalid-request',
      message: expect.stringMatching(/^request\.expires_at/),
    });
  });

  it('accepts workspace scopes only', async () => {
    const org = await createOrg(h);
    const ws = await createWorkspace(h, org);
    const body = { name: 'k', scopes: ['org:admin'] };
    await expect(h.request('tenant.keys.create', orgAdmin(org, ws.id), body as never)).rejects.toThrow(
      /request\.scopes/,
    );
    await expect(
      h.request('tenant.keys.create', orgAdmin(org, ws.id), { name: 'k', scopes: [] }),
    ).rejects.toThrow(/request\.scopes/);
  });

  it('enforces the keys limit, as lowered by the workspace; revoked keys do not count', async () => {
    const org = await createOrg(h);
    const ws = await createWorkspace(h, org);
    await h.request('tenant.workspace.update', orgAdmin(org, ws.id), { settings: { limits: { keys: 2 } } });
    expect(effectiveLimits('free', { keys: 2 }).keys).toBe(2);
    const first = await issue(org, ws.id);
    await issue(org, ws.id);
    await expect(createKey(h, org, ws.id)).rejects.toMatchObject({ code: 'quota-exceeded', status: 429 });
    await h.request('tenant.keys.revoke', orgAdmin(org, ws.id), { key_id: first.id });
    await issue(org, ws.id);
  });
});

describe('tenant.keys.list', () => {
  it('lists keys with prefix and dates, never the secret or its hash, page by page', async () => {
    const org = await createOrg(h);
    const ws = await createWorkspace(h, org);
    const keys = [await issue(org, ws.id), await issue(org, ws.id), await issue(org, ws.id)];
    const caller = orgAdmin(org, ws.id);
    const first = await h.request('tenant.keys.list', caller, { limit: 2 });
    const rest = await h.request('tenant.keys.list', caller, {
      limit: 2,
      cursor: first.next_cursor as string,
    });
    expect(rest.next_cursor).toBeNull();
    const items = [...first.items, ...rest.items];
    expect(items.map((k) => k.id)).toEqual(keys.map((k) => k.id));
    expect(items[0]).toEqual({
      id: keys[0]?.id,
      name: 'key',
      prefix: keys[0]?.key.slice(0, KEY_PREFIX_LENGTH),
      scopes: ['search'],
      expires_at: null,
      created_at: keys[0]?.created_at,
      last_used_at: null,
      revoked_at: null,
    });
    const text = JSON.stringify(items);
    for (const key of keys) {
      expect(text).not.toContain(key.key);
      expect(text).not.toContain(hashApiKey(key.key, KEY_HASH_SECRET));
    }
  });
});

describe('tenant.keys.revoke', () => {
  it('revokes, announces and audits, idempotently', async () => {
    const org = await createOrg(h);
    const ws = await createWorkspace(h, org);
    const key = await issue(org, ws.id);
    const watch = watchRevocations(h.nc);
    const caller = orgAdmin(org, ws.id);
    expect(await h.request('tenant.keys.revoke', caller, { key_id: key.id })).toEqual({});
    expect(await h.request('tenant.keys.revoke', orgAdmin(org, ws.id), { key_id: key.id })).toEqual({});
    await eventually(() =>
      expect(watch.seen.filter((m) => m.org_id === org)[0]).toEqual({
        v: 1,
        key_ids: [key.id],
        org_id: org,
        reason: 'key-revoked',
      }),
    );
    watch.stop();
    const [listed] = (await h.request('tenant.keys.list', caller, { limit: 20 })).items;
    expect(Date.parse(listed?.revoked_at ?? '')).not.toBeNaN();

    const audit = await h.service.stores.audit.in({ org_id: org }).find({ action: 'key.revoked' });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      org_id: org,
      workspace_id: ws.id,
      key_id: caller.context.kid,
      request_id: caller.context.rid,
      target: key.id,
    });
  });

  it('answers 404 for a key of another workspace or organization', async () => {
    const org = await createOrg(h);
    const ws = await createWorkspace(h, org);
    const sibling = await createWorkspace(h, org);
    const key = await issue(org, sibling.id);
    for (const keyId of [key.id, newId('key')]) {
      await expect(
        h.request('tenant.keys.revoke', orgAdmin(org, ws.id), { key_id: keyId }),
      ).rejects.toMatchObject({ code: 'not-found' });
    }
    const foreign = await createOrg(h);
    const foreignWs = await createWorkspace(h, foreign);
    await expect(
      h.request('tenant.keys.revoke', orgAdmin(foreign, foreignWs.id), { key_id: key.id }),
    ).rejects.toMatchObject({ code: 'not-found' });
    expect(
      (await h.request('tenant.keys.list', orgAdmin(org, sibling.id), { limit: 5 })).items[0]?.revoked_at,
    ).toBeNull();
  });
});

describe('what is stored and logged', () => {
  it('keeps no 8-character piece of any key beyond its display prefix, and logs neither keys nor hashes', async () => {
    expect(issued.length).toBeGreaterThan(5);
    const raw = JSON.stringify(await h.mongo.collection('api_keys').find({}).toArray());
    const logs = logLines.join('\n');
    for (const key of issued) {
      // Every 8-character window that reaches past the prefix shown in listings.
      for (let start = KEY_PREFIX_LENGTH - 7; start + 8 <= key.length; start += 1) {
        const piece = key.slice(start, start + 8);
        expect(raw.includes(piece), `stored piece ${start}`).toBe(false);
        expect(logs.includes(piece), `logged piece ${start}`).toBe(false);
      }
      expect(logs).not.toContain(hashApiKey(key, KEY_HASH_SECRET));
    }
  });
});
