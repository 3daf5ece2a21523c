import { PLANS, STREAMS } from '@kb/contracts';
import { newId } from '@kb/tenancy';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createKey,
  createOrg,
  createWorkspace,
  eventually,
  type Harness,
  operator,
  orgAdmin,
  startTenant,
  system,
  verifier,
  watchRevocations,
} from './helpers.js';

let h: Harness;

beforeAll(async () => {
  h = await startTenant();
});

afterAll(async () => {
  await h?.stop();
});

describe('tenant.workspace.create / get', () => {
  it('creates a workspace with default settings, readable by its organization', async () => {
    const org = await createOrg(h);
    const ws = await h.request('tenant.workspace.create', orgAdmin(org), { name: 'Docs' });
    expect(ws).toMatchObject({
      org_id: org,
      name: 'Docs',
      environment: 'production',
      status: 'active',
      settings: { chunk_size: 1000, chunk_overlap: 150, limits: {} },
    });
    expect(await h.request('tenant.workspace.get', orgAdmin(org, ws.id), {})).toEqual(ws);
    // the operator may do what an organization admin may
    expect(await h.request('tenant.workspace.get', operator(org, ws.id), {})).toEqual(ws);
  });

  it('answers 400 naming the field for a bad body', async () => {
    const org = await createOrg(h);
    await expect(
      h.request('tenant.workspace.create', orgAdmin(org), { name: 'x', environment: 'prod' } as never),
    ).rejects.toThrow(/environment/);
    await expect(h.request('tenant.workspace.create', orgAdmin(org), { name: '' })).rejects.toThrow(/name/);
  });

  it("answers 404 for another organization's workspace, without its data", async () => {
    const a = await createOrg(h);
    const b = await createOrg(h);
    const wsB = await createWorkspace(h, b);
    const attempts = [
      () => h.request('tenant.workspace.get', orgAdmin(a, wsB.id), {}),
      () => h.request('tenant.workspace.delete', orgAdmin(a, wsB.id), {}),
      () => h.request('tenant.keys.list', orgAdmin(a, wsB.id), { limit: 20 }),
      () => h.request('tenant.keys.revoke', orgAdmin(a, wsB.id), { key_id: newId('key') }),
    ];
    for (const send of attempts) {
      const attempt = send();
      await expect(attempt).rejects.toMatchObject({ code: 'not-found', status: 404 });
      await expect(attempt).rejects.not.toThrow(new RegExp(b));
    }
    await expect(
      h.request('tenant.workspace.update', orgAdmin(a, wsB.id), { name: 'stolen' }),
    ).rejects.toMatchObject({ code: 'not-found' });
    await expect(createKey(h, a, wsB.id)).rejects.toMatchObject({ code: 'not-found' });
    expect((await h.request('tenant.workspace.get', orgAdmin(b, wsB.id), {})).name).toBe('ws');
    expect((await h.request('tenant.workspace.list', orgAdmin(a), { limit: 20 })).items).toEqual([]);
  });

  it('enforces the plan’s workspace limit with quota-exceeded', async () => {
    const org = await createOrg(h, 'free');
    const limit = PLANS.free.workspaces;
    for (let i = 0; i < limit; i += 1) await createWorkspace(h, org);
    await expect(createWorkspace(h, org)).rejects.toMatchObject({ code: 'quota-exceeded', status: 429 });
    // concurrent creations cannot overshoot either
    const other = await createOrg(h, 'free');
    const results = await Promise.allSettled(
      Array.from({ length: limit + 3 }, () => createWorkspace(h, other)),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(limit);
    const { items } = await h.request('tenant.workspace.list', orgAdmin(other), { limit: 100 });
    expect(items).toHaveLength(limit);
  });

  it('answers 404 when the organization does not exist', async () => {
    await expect(createWorkspace(h, newId('org'))).rejects.toMatchObject({ code: 'not-found' });
  });
});

describe('tenant.workspace.list', () => {
  it('pages in creation order with an opaque cursor', async () => {
    const org = await createOrg(h, 'pro');
    const created = [];
    for (let i = 0; i < 5; i += 1) created.push((await createWorkspace(h, org)).id);
    const first = await h.request('tenant.workspace.list', orgAdmin(org), { limit: 2 });
    expect(first.items.map((w) => w.id)).toEqual(created.slice(0, 2));
    expect(first.next_cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    const second = await h.request('tenant.workspace.list', orgAdmin(org), {
      limit: 2,
      cursor: first.next_cursor as string,
    });
    expect(second.items.map((w) => w.id)).toEqual(created.slice(2, 4));
    const last = await h.request('tenant.workspace.list', orgAdmin(org), {
      limit: 2,
      cursor: second.next_cursor as string,
    });
    expect(last).toMatchObject({ next_cursor: null });
    expect(last.items.map((w) => w.id)).toEqual(created.slice(4));
  });

  it('answers 400 for a bad cursor or limit', async () => {
    const org = await createOrg(h);
    await expect(
      h.request('tenant.workspace.list', orgAdmin(org), { limit: 2, cursor: 'bm9wZQ' }),
    ).rejects.toThrow(/request\.cursor/);
    await expect(h.request('tenant.workspace.list', orgAdmin(org), { limit: 101 })).rejects.toThrow(/limit/);
    await expect(h.request('tenant.workspace.list', orgAdmin(org), { limit: 0 })).rejects.toThrow(/limit/);
  });
});

describe('tenant.workspace.update', () => {
  it('updates the name and settings', async () => {
    const org = await createOrg(h);
    const ws = await createWorkspace(h, org);
    const updated = await h.request('tenant.workspace.update', orgAdmin(org, ws.id), {
      name: 'Renamed',
      settings: { chunk_size: 500, chunk_overlap: 50, limits: { documents: 10 } },
    });
    expect(updated).toMatchObject({
      name: 'Renamed',
      settings: { chunk_size: 500, chunk_overlap: 50, limits: { documents: 10 } },
    });
    const again = await h.request('tenant.workspace.update', orgAdmin(org, ws.id), {
      settings: { limits: { keys: 2 } },
    });
    expect(again.settings).toEqual({
      chunk_size: 500,
      chunk_overlap: 50,
      limits: { documents: 10, keys: 2 },
    });
  });

  it('refuses an overlap not below the chunk size, naming settings.chunk_overlap', async () => {
    const org = await createOrg(h);
    const ws = await createWorkspace(h, org);
    const caller = orgAdmin(org, ws.id);
    await expect(
      h.request('tenant.workspace.update', caller, { settings: { chunk_overlap: 1000 } }),
    ).rejects.toMatchObject({
      code: 'invalid-request',
      message: expect.stringMatching(/^settings\.chunk_overlap/),
    });
    await expect(
      h.request('tenant.workspace.update', caller, { settings: { chunk_size: 150 } }),
    ).rejects.toThrow(/settings\.chunk_overlap/);
    await expect(
      h.request('tenant.workspace.update', caller, { settings: { chunk_size: 50 } }),
    ).rejects.toThrow(/chunk_size/);
  });

  it('lets limit overrides only lower the plan’s values', async () => {
    const org = await createOrg(h, 'free');
    const ws = await createWorkspace(h, org);
    const caller = orgAdmin(org, ws.id);
    await expect(
      h.request('tenant.workspace.update', caller, {
        settings: { limits: { documents: PLANS.free.documents + 1 } },
      }),
    ).rejects.toThrow(/settings\.limits\.documents/);
    await expect(
      h.request('tenant.workspace.update', caller, { settings: { limits: { bogus: 1 } as never } }),
    ).rejects.toThrow(/settings\.limits\.bogus/);
    const ok = await h.request('tenant.workspace.update', caller, {
      settings: { limits: { documents: PLANS.free.documents } },
    });
    expect(ok.settings.limits).toEqual({ documents: PLANS.free.documents });
  });
});

describe('tenant.workspace.delete', () => {
  it('marks the workspace deleting, revokes and announces its keys, then treats it as gone', async () => {
    const org = await createOrg(h);
    const ws = await createWorkspace(h, org);
    const keep = await createWorkspace(h, org);
    const k1 = await createKey(h, org, ws.id);
    const k2 = await createKey(h, org, ws.id);
    const other = await createKey(h, org, keep.id);
    const watch = watchRevocations(h.nc);

    const deleted = await h.request('tenant.workspace.delete', orgAdmin(org, ws.id), {});
    expect(deleted).toMatchObject({ id: ws.id, status: 'deleting' });
    // Announced on JetStream under the caller's context, for the ingestion service to purge its data.
    const announced = await (await jetstreamManager(h.nc)).streams.getMessage(STREAMS.events.name, {
      last_by_subj: `kb.${org}.${ws.id}.evt.workspace.deleted`,
    });
    expect(announced?.json()).toMatchObject({
      org_id: org,
      workspace_id: ws.id,
      event_id: `workspace-deleted:${ws.id}`,
    });
    expect(verifier.verify(announced?.header.get('Kb-Context') ?? '')).toMatchObject({ org, ws: ws.id });
    await eventually(() =>
      expect(watch.seen.filter((m) => m.org_id === org)).toEqual([
        { v: 1, key_ids: [k1.id, k2.id], org_id: org, reason: 'workspace-deleted' },
      ]),
    );
    watch.stop();

    for (const op of ['tenant.workspace.get', 'tenant.workspace.delete'] as const) {
      await expect(h.request(op, orgAdmin(org, ws.id), {})).rejects.toMatchObject({ code: 'not-found' });
    }
    const listed = await h.request('tenant.workspace.list', orgAdmin(org), { limit: 20 });
    expect(listed.items.map((w) => w.id)).toEqual([keep.id]);
    await expect(h.request('tenant.keys.verify', system(), { key: k1.key })).rejects.toMatchObject({
      code: 'unauthorized',
    });
    expect((await h.request('tenant.keys.verify', system(), { key: other.key })).key_id).toBe(other.id);
    await expect(
      h.request('tenant.workspace.locate', system(), { workspace_id: ws.id }),
    ).rejects.toMatchObject({ code: 'not-found' });
  });
});

describe('tenant.workspace.locate', () => {
  it('names the organization of a workspace, for the system context only', async () => {
    const org = await createOrg(h);
    const ws = await createWorkspace(h, org);
    expect(await h.request('tenant.workspace.locate', system(), { workspace_id: ws.id })).toEqual({
      org_id: org,
    });
    await expect(
      h.request('tenant.workspace.locate', system(), { workspace_id: newId('workspace') }),
    ).rejects.toMatchObject({ code: 'not-found' });
    await expect(
      h.request('tenant.workspace.locate', system(), { workspace_id: 'nope' } as never),
    ).rejects.toThrow(/workspace_id/);
  });
});

describe('the scoped store', () => {
  it('refuses, at run time, a query on a tenant collection without its scope', async () => {
    const { stores } = h.service;
    await expect(stores.workspaces.model.find({}).exec()).rejects.toThrow(/without its tenant scope/);
    await expect(stores.keys.model.find({ org_id: newId('org') }).exec()).rejects.toThrow(/workspace_id/);
    await expect(stores.orgs.model.findOne({ name: 'x' }).exec()).rejects.toThrow(/_id/);
    await expect(stores.audit.model.countDocuments({}).exec()).rejects.toThrow(/org_id/);
  });
});
