import { newId } from '@kb/tenancy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createOrg,
  eventually,
  type Harness,
  operator,
  orgAdmin,
  startTenant,
  system,
  watchRevocations,
} from './helpers.js';

let h: Harness;

beforeAll(async () => {
  h = await startTenant();
});

afterAll(async () => {
  await h?.stop();
});

describe('tenant.org.create / get', () => {
  it('creates the organization under the id the subject carries, free plan by default', async () => {
    const org = newId('org');
    const created = await h.request('tenant.org.create', operator(org), { name: 'Acme' });
    expect(created).toMatchObject({ id: org, name: 'Acme', plan: 'free', status: 'active', settings: {} });
    expect(Date.parse(created.created_at)).not.toBeNaN();
    expect(await h.request('tenant.org.get', operator(org), {})).toEqual(created);
    const pro = newId('org');
    expect((await h.request('tenant.org.create', operator(pro), { name: 'P', plan: 'pro' })).plan).toBe(
      'pro',
    );
  });

  it('answers 409 for an id that exists', async () => {
    const org = await createOrg(h);
    await expect(h.request('tenant.org.create', operator(org), { name: 'again' })).rejects.toMatchObject({
      code: 'conflict',
      status: 409,
    });
  });

  it('answers 400 naming the field, and 404 for an unknown organization', async () => {
    const org = newId('org');
    await expect(
      h.request('tenant.org.create', operator(org), { name: 'x', plan: 'gold' } as never),
    ).rejects.toMatchObject({ code: 'invalid-request' });
    await expect(h.request('tenant.org.get', operator(org), {})).rejects.toMatchObject({ code: 'not-found' });
  });

  it('is the operator’s alone: an organization admin is refused', async () => {
    const org = await createOrg(h);
    await expect(h.request('tenant.org.get', orgAdmin(org), {})).rejects.toMatchObject({ status: 403 });
  });
});

describe('tenant.org.update', () => {
  it('changes the name without revoking anything', async () => {
    const org = await createOrg(h);
    const watch = watchRevocations(h.nc);
    const updated = await h.request('tenant.org.update', operator(org), { name: 'Renamed' });
    expect(updated).toMatchObject({ id: org, name: 'Renamed', plan: 'free', status: 'active' });
    await h.nc.flush();
    expect(watch.seen.filter((m) => m.org_id === org)).toEqual([]);
    watch.stop();
  });

  it('broadcasts CredentialsRevoked on suspension and on a plan change, and audits both', async () => {
    const org = await createOrg(h);
    const watch = watchRevocations(h.nc);
    const suspend = operator(org);
    expect((await h.request('tenant.org.update', suspend, { status: 'suspended' })).status).toBe('suspended');
    const replan = operator(org);
    expect((await h.request('tenant.org.update', replan, { plan: 'pro' })).plan).toBe('pro');
    await eventually(() =>
      expect(watch.seen.filter((m) => m.org_id === org)).toEqual([
        { v: 1, key_ids: [], org_id: org, reason: 'org-suspended' },
        { v: 1, key_ids: [], org_id: org, reason: 'org-plan-changed' },
      ]),
    );
    watch.stop();

    const { items } = await h.request('tenant.audit.list', operator(org), { limit: 10 });
    expect(items.find((e) => e.action === 'org.status-changed')).toMatchObject({
      org_id: org,
      key_id: 'master',
      request_id: suspend.context.rid,
      target: org,
      detail: 'active -> suspended',
    });
    expect(items.find((e) => e.action === 'org.plan-changed')).toMatchObject({
      request_id: replan.context.rid,
      detail: 'free -> pro',
    });
  });

  it('answers 404 for an unknown organization and 400 for an empty or invalid change', async () => {
    await expect(h.request('tenant.org.update', operator(newId('org')), { name: 'x' })).rejects.toMatchObject(
      {
        code: 'not-found',
      },
    );
    const org = await createOrg(h);
    await expect(h.request('tenant.org.update', operator(org), {} as never)).rejects.toMatchObject({
      code: 'invalid-request',
    });
    await expect(
      h.request('tenant.org.update', operator(org), { status: 'deleted' } as never),
    ).rejects.toThrow(/status/);
  });
});

describe('tenant.org.keys.create', () => {
  it('issues an organization-admin key, shown once, and audits it', async () => {
    const org = await createOrg(h);
    const caller = operator(org);
    const created = await h.request('tenant.org.keys.create', caller, { name: 'admin' });
    expect(created).toMatchObject({ name: 'admin', scopes: ['org:admin'], expires_at: null });
    expect(created.key).toMatch(/^kb_live_/);
    const verified = await h.request('tenant.keys.verify', system(), {
      key: created.key,
    });
    expect(verified).toMatchObject({
      key_id: created.id,
      org_id: org,
      workspace_id: null,
      scopes: ['org:admin'],
    });
    const { items } = await h.request('tenant.audit.list', operator(org), { limit: 10 });
    expect(items.find((e) => e.action === 'key.created')).toMatchObject({
      target: created.id,
      key_id: 'master',
      request_id: caller.context.rid,
      workspace_id: null,
    });
  });

  it('answers 404 for an unknown organization', async () => {
    await expect(
      h.request('tenant.org.keys.create', operator(newId('org')), { name: 'admin' }),
    ).rejects.toMatchObject({ code: 'not-found' });
  });
});
