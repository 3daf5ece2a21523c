import { type Caller, createPublisher, ensureStreams, type RunningConsumer, stampHeaders } from '@kb/bus';
import { auditSubject, HEADERS, STREAMS } from '@kb/contracts';
import { newId } from '@kb/tenancy';
import { uniqueName } from '@kb/testing';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditRecord } from '../src/domain/audit-record.js';
import { startAuditConsumer } from '../src/handlers/audit.js';
import {
  createOrg,
  createWorkspace,
  eventually,
  type Harness,
  log,
  operator,
  orgAdmin,
  startTenant,
  system,
  verifier,
} from './helpers.js';

let h: Harness;
let consumer: RunningConsumer;

beforeAll(async () => {
  h = await startTenant();
  await ensureStreams(await jetstreamManager(h.nc), [STREAMS.audit, STREAMS.deadLetter]);
  consumer = await startAuditConsumer(h.nc, {
    audit: h.service.audit,
    verifier,
    log,
    durable: uniqueName('tenant-audit-test'),
  });
});

afterAll(async () => {
  await consumer?.stop();
  await h?.stop();
});

const list = (org: string, body: { limit: number; cursor?: string } = { limit: 100 }) =>
  h.request('tenant.audit.list', operator(org), body);

describe('refusals at the tenant service', () => {
  it('are recorded with the tenant they claimed, when well formed', async () => {
    const victim = await createOrg(h);
    const attacker = orgAdmin(await createOrg(h));
    // The attacker's valid context, sent on the victim's subject with the victim's headers.
    const subject = `kb.${victim}._.tenant.workspace.list`;
    const h1 = stampHeaders(attacker);
    h1.set(HEADERS.org, victim);
    const reply = await h.nc.request(subject, JSON.stringify({ limit: 5 }), { headers: h1, timeout: 2_000 });
    expect(reply.headers?.get('Nats-Service-Error-Code')).toBe('401');

    const entry = await eventually(async () => {
      const found = (await list(victim)).items.find((e) => e.action === 'request.refused');
      expect(found).toBeDefined();
      return found;
    });
    expect(entry).toMatchObject({ org_id: victim, workspace_id: null, target: subject });
    expect(entry?.detail).toMatch(/^401 /);
  });

  it('keep no claimed tenant that is not a valid id', async () => {
    const h2 = stampHeaders(system());
    h2.set(HEADERS.org, 'org_../../etc');
    h2.set(HEADERS.workspace, 'ws_$');
    h2.set(HEADERS.context, 'not-a-token');
    const marker = newId('org');
    await h.nc.request(`kb.${marker}._.tenant.org.get`, '{}', { headers: h2, timeout: 2_000 });
    await eventually(async () => {
      const [entry] = await h.service.stores.audit
        .in({ org_id: null })
        .find({ target: `kb.${marker}._.tenant.org.get` });
      expect(entry).toMatchObject({ action: 'request.refused', org_id: null, workspace_id: null });
    });
  });
});

describe('the audit stream', () => {
  const systemCaller = (): Caller => system();

  function record(org: string, eventId = uniqueName('evt')): AuditRecord {
    return {
      v: 1,
      event_id: eventId,
      action: 'request.refused',
      org_id: org,
      workspace_id: null,
      key_id: newId('key'),
      request_id: 'req-1',
      target: 'kb.x.search.query',
      detail: '401 subject tenant does not match the tenant context',
      occurred_at: new Date().toISOString(),
    };
  }

  it('stores each published record once, whatever the redeliveries', async () => {
    const org = await createOrg(h);
    const publisher = createPublisher(h.nc);
    const body = record(org);
    const subject = auditSubject(null, 'request-refused');
    // The same event under two message ids: JetStream keeps both, the store keeps one.
    await publisher.publish(subject, AuditRecord, body, systemCaller(), `${body.event_id}-a`);
    await publisher.publish(subject, AuditRecord, body, systemCaller(), `${body.event_id}-b`);
    await eventually(async () => {
      const entries = (await list(org)).items.filter((e) => e.id === body.event_id);
      expect(entries).toEqual([
        {
          id: body.event_id,
          at: body.occurred_at,
          action: 'request.refused',
          org_id: org,
          workspace_id: null,
          key_id: body.key_id,
          request_id: 'req-1',
          target: body.target,
          detail: body.detail,
        },
      ]);
    });
  });
});

describe('tenant.audit.list', () => {
  it('lists an organization’s entries newest first, page by page, and nobody else’s', async () => {
    const org = await createOrg(h);
    const other = await createOrg(h);
    for (let i = 0; i < 3; i += 1) await createWorkspace(h, org);
    await createWorkspace(h, other);
    const all = (await list(org)).items;
    expect(all.map((e) => e.action)).toEqual([
      'workspace.created',
      'workspace.created',
      'workspace.created',
      'org.created',
    ]);
    expect(all.every((e) => e.org_id === org)).toBe(true);
    const times = all.map((e) => Date.parse(e.at));
    expect([...times].sort((a, b) => b - a)).toEqual(times);

    const first = await list(org, { limit: 3 });
    const second = await list(org, { limit: 3, cursor: first.next_cursor as string });
    expect([...first.items, ...second.items]).toEqual(all);
    expect(second.next_cursor).toBeNull();
  });

  it('records who did what: the actor key, the request id and the workspace', async () => {
    const org = await createOrg(h);
    const admin = orgAdmin(org);
    const ws = await h.request('tenant.workspace.create', admin, { name: 'audited' });
    const [entry] = (await list(org, { limit: 1 })).items;
    expect(entry).toMatchObject({
      action: 'workspace.created',
      org_id: org,
      workspace_id: ws.id,
      key_id: admin.context.kid,
      request_id: admin.context.rid,
      target: ws.id,
    });
  });

  it('is for the operator only, and answers 404 for an unknown organization', async () => {
    const org = await createOrg(h);
    await expect(h.request('tenant.audit.list', orgAdmin(org), { limit: 5 })).rejects.toMatchObject({
      status: 403,
    });
    await expect(list(newId('org'))).rejects.toMatchObject({ code: 'not-found' });
    await expect(list(org, { limit: 5, cursor: 'Zm9v' })).rejects.toThrow(/request\.cursor/);
  });
});
