import { generateApiKey } from '@kb/tenancy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createKey,
  createOrg,
  createWorkspace,
  eventually,
  type Harness,
  operator,
  orgAdmin,
  sleep,
  startTenant,
  system,
} from './helpers.js';

let h: Harness;

beforeAll(async () => {
  h = await startTenant();
});

afterAll(async () => {
  await h?.stop();
});

const verify = (key: string) => h.request('tenant.keys.verify', system(), { key });

async function workspaceWithKey(plan?: 'pro') {
  const org = await createOrg(h, plan);
  const ws = await createWorkspace(h, org);
  const key = await createKey(h, org, ws.id, { scopes: ['search', 'documents:read'] });
  return { org, ws, key };
}

describe('tenant.keys.verify', () => {
  it('answers the identity behind a valid key', async () => {
    const { org, ws, key } = await workspaceWithKey('pro');
    expect(await verify(key.key)).toEqual({
      key_id: key.id,
      org_id: org,
      workspace_id: ws.id,
      scopes: ['search', 'documents:read'],
      plan: 'pro',
      expires_at: null,
    });
  });

  it('refuses unknown, malformed, revoked and expired keys with 401 "invalid API key"', async () => {
    const { org, ws, key } = await workspaceWithKey();
    const expiring = await createKey(h, org, ws.id, { expires_at: new Date(Date.now() + 600).toISOString() });
    expect((await verify(expiring.key)).key_id).toBe(expiring.id);
    await h.request('tenant.keys.revoke', orgAdmin(org, ws.id), { key_id: key.id });
    await sleep(700);
    const refused = { code: 'unauthorized', status: 401, message: 'invalid API key' };
    await expect(verify(key.key)).rejects.toMatchObject(refused);
    await expect(verify(expiring.key)).rejects.toMatchObject(refused);
    await expect(verify(generateApiKey('live').key)).rejects.toMatchObject(refused);
    await expect(verify(`${key.key.slice(0, -1)}x`)).rejects.toMatchObject(refused);
    await expect(verify('hello')).rejects.toMatchObject(refused);
  });

  it('refuses the keys of a deleted workspace with 401', async () => {
    const { org, ws, key } = await workspaceWithKey();
    await h.request('tenant.workspace.delete', orgAdmin(org, ws.id), {});
    await expect(verify(key.key)).rejects.toMatchObject({ code: 'unauthorized' });
  });

  it('answers 403 for every key of a suspended organization, and works again once it is active', async () => {
    const { org, key } = await workspaceWithKey();
    const admin = await h.request('tenant.org.keys.create', operator(org), { name: 'admin' });
    await h.request('tenant.org.update', operator(org), { status: 'suspended' });
    for (const k of [key.key, admin.key]) {
      await expect(verify(k)).rejects.toMatchObject({
        code: 'forbidden',
        status: 403,
        message: 'organization is suspended',
      });
    }
    await h.request('tenant.org.update', operator(org), { status: 'active' });
    expect((await verify(admin.key)).workspace_id).toBeNull();
  });

  it('is a system operation: a tenant context is refused', async () => {
    const { org, key } = await workspaceWithKey();
    await expect(h.request('tenant.keys.verify', operator(org), { key: key.key })).rejects.toMatchObject({
      status: 401,
    });
  });

  it('does the same store work for an unknown key as for a known one, every read finding a document', async () => {
    const { org, key } = await workspaceWithKey();
    const admin = await h.request('tenant.org.keys.create', operator(org), { name: 'admin' });
    const ops: string[] = [];
    h.mongo.set('debug', (collection: string, method: string, query: Record<string, unknown>) => {
      // The batched last_used_at write runs on its own timer (tested below) and may land in any window.
      if (collection === 'api_keys' && method === 'updateMany') return;
      ops.push(`${collection}.${method}(${Object.keys(query).join(',')})`);
    });
    try {
      await verify(key.key);
      const known = ops.splice(0).sort();
      await verify(admin.key);
      const knownAdmin = ops.splice(0).sort();
      await verify(generateApiKey('live').key).catch(() => undefined);
      const unknown = ops.splice(0).sort();
      // The id behind the hash, then the key, its organization and its workspace by id (stand-ins for an
      // unknown key, or for an organization-admin key's workspace).
      expect(known).toEqual([
        'api_keys.findOne(_id)',
        'api_keys.findOne(hash)',
        'organizations.findOne(_id)',
        'workspaces.findOne(_id)',
      ]);
      expect(knownAdmin).toEqual(known);
      expect(unknown).toEqual(known);
      const stand = async (collection: string) =>
        h.mongo.collection(collection).findOne({ _id: 'decoy' as never });
      for (const collection of ['api_keys', 'organizations', 'workspaces'])
        expect(await stand(collection), collection).not.toBeNull();
    } finally {
      h.mongo.set('debug', false);
    }
  });
});

describe('last_used_at', () => {
  it('is written in batches, not once per verification, and eventually set', async () => {
    const { org, ws, key } = await workspaceWithKey();
    const other = await createKey(h, org, ws.id);
    const writes: string[] = [];
    h.mongo.set('debug', (collection: string, method: string) => {
      if (collection === 'api_keys' && method.startsWith('update')) writes.push(method);
    });
    try {
      const started = Date.now();
      await Promise.all(Array.from({ length: 60 }, (_, i) => verify(i % 2 ? key.key : other.key)));
      const elapsedS = (Date.now() - started) / 1000;
      await eventually(async () => {
        const { items } = await h.request('tenant.keys.list', orgAdmin(org, ws.id), { limit: 10 });
        expect(items.every((k) => k.last_used_at !== null)).toBe(true);
      });
      // one write per flush interval (1 s) at most, however many verifications happened
      expect(writes.length).toBeGreaterThan(0);
      expect(writes.length).toBeLessThanOrEqual(Math.ceil(elapsedS) + 2);
      expect(writes.every((method) => method === 'updateMany')).toBe(true);
    } finally {
      h.mongo.set('debug', false);
    }
  });

  it('is flushed at shutdown', async () => {
    const { org, ws, key } = await workspaceWithKey();
    await verify(key.key);
    await h.service.lastUsed.flush();
    const [stored] = await h.service.stores.keys.in({ org_id: org, workspace_id: ws.id }).find();
    expect(stored?.last_used_at).toBeInstanceOf(Date);
  });
});
