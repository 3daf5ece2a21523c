import { randomUUID } from 'node:crypto';
import { createPublisher } from '@kb/bus';
import { meteringSubject, PLANS, UsageEvent, type UsageMetric } from '@kb/contracts';
import { createContextSigner, type TenantContext } from '@kb/tenancy';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Client, client, isProblem } from './http.ts';
import { type Platform, startPlatform } from './platform.ts';
import { createOrg, createWorkspace, type OrgFixture, type WorkspaceFixture, within } from './tenants.ts';

let platform: Platform;
let nc: NatsConnection;
let orgA: OrgFixture;
let wsA: WorkspaceFixture;
let wsB: WorkspaceFixture;

beforeAll(async () => {
  platform = await startPlatform();
  nc = await connect({ servers: platform.env.KB_NATS_URL });
  orgA = await createOrg(platform, 'Metered', 'starter');
  wsA = await createWorkspace(platform, orgA, 'metered-ws');
  wsB = await createWorkspace(platform, await createOrg(platform, 'Other'), 'other-ws');
});

afterAll(async () => {
  await nc?.drain();
  await platform?.stop();
});

type Report = { items: { period_start: string; metric: string; value: number }[] };
type QuotaList = {
  plan: string;
  items: { metric: string; limit: number; used: number; remaining: number }[];
};

/** Publishes a usage event as the ingestion or search service would (signed context, message id). */
async function publishUsage(ws: WorkspaceFixture, metric: UsageMetric, value: number): Promise<void> {
  const context: TenantContext = {
    org: ws.org.id,
    ws: ws.id,
    kid: 'ingestion',
    scopes: [],
    plan: '',
    rid: randomUUID(),
  };
  const signer = createContextSigner(platform.env.KB_CONTEXT_SECRET ?? '');
  const event: UsageEvent = {
    v: 1,
    event_id: `test:${randomUUID()}`,
    org_id: ws.org.id,
    workspace_id: ws.id,
    occurred_at: new Date().toISOString(),
    metric,
    value,
  };
  const tenant = { org: ws.org.id, ws: ws.id };
  const caller = { context, token: signer.sign(context) };
  await createPublisher(nc).publish(
    meteringSubject(tenant, metric),
    UsageEvent,
    event,
    caller,
    event.event_id,
  );
}

const slowly = () => new Promise((resolve) => setTimeout(resolve, 250));

describe('GET /v1/usage', () => {
  it('reports each workspace’s metered API calls by hour and by day, and never another tenant’s', async () => {
    // The other workspace's first look: nothing of its own yet, and nothing of anyone else's.
    const first = await wsB.as<Report>('GET', '/v1/usage');
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ items: [] });

    for (let i = 0; i < 5; i += 1) expect((await wsA.as('GET', '/v1/quotas')).status).toBe(200);
    const hour = new Date();
    hour.setUTCMinutes(0, 0, 0);
    let hourly: Report = { items: [] };
    await within(20_000, async () => {
      await slowly();
      hourly = (await wsA.as<Report>('GET', '/v1/usage?granularity=hour')).body;
      return hourly.items.some((item) => item.metric === 'api_calls' && item.value >= 5);
    });
    expect(hourly.items).toContainEqual({
      period_start: hour.toISOString(),
      metric: 'api_calls',
      value: expect.any(Number),
    });
    const daily = await wsA.as<Report>(
      'GET',
      `/v1/usage?granularity=day&from=${hour.toISOString().slice(0, 10)}`,
    );
    expect(daily.status).toBe(200);
    const calls = daily.body.items.find((item) => item.metric === 'api_calls');
    expect(calls?.period_start).toBe(`${hour.toISOString().slice(0, 10)}T00:00:00.000Z`);
    expect(calls?.value).toBeGreaterThanOrEqual(5);

    const other = await wsB.as<Report>('GET', '/v1/usage?granularity=hour');
    const otherCalls = other.body.items.find((item) => item.metric === 'api_calls')?.value ?? 0;
    expect(otherCalls).toBeLessThanOrEqual(2);
  });

  it('answers invalid ranges with a problem naming the field', async () => {
    const reversed = await wsA.as('GET', '/v1/usage?from=2024-03-02&to=2024-03-01');
    expect(reversed.status).toBe(400);
    expect(isProblem(reversed)).toBe(true);
    expect(String(reversed.body.detail)).toContain('from');
    const unknown = await wsA.as('GET', '/v1/usage?granularity=week');
    expect(unknown.status).toBe(400);
    expect(String(unknown.body.detail)).toContain('granularity');
    const notADate = await wsA.as('GET', '/v1/usage?to=yesterday');
    expect(notADate.status).toBe(400);
  });
});

describe('GET /v1/quotas', () => {
  it('shows the plan’s limits, what the workspace holds and what remains, and follows its overrides', async () => {
    const initial = await wsA.as<QuotaList>('GET', '/v1/quotas');
    expect(initial.status).toBe(200);
    expect(initial.body.plan).toBe('starter');
    expect(initial.body.items.map((item) => item.metric)).toEqual([
      'documents',
      'storage_bytes',
      'chunks',
      'searches_per_month',
    ]);
    expect(initial.body.items[0]).toEqual({
      metric: 'documents',
      limit: PLANS.starter.documents,
      used: 0,
      remaining: PLANS.starter.documents,
    });

    await publishUsage(wsA, 'documents', 4);
    await publishUsage(wsA, 'bytes_ingested', 4_096);
    await publishUsage(wsA, 'documents', -1);
    await within(10_000, async () => {
      await slowly();
      const body = (await wsA.as<QuotaList>('GET', '/v1/quotas')).body;
      return body.items[0]?.used === 3 && body.items[1]?.used === 4_096;
    });

    const patched = await orgA.admin('PATCH', `/v1/workspaces/${wsA.id}`, {
      settings: { limits: { documents: 5 } },
    });
    expect(patched.status).toBe(200);
    await within(15_000, async () => {
      await slowly();
      const documents = (await wsA.as<QuotaList>('GET', '/v1/quotas')).body.items[0];
      return documents?.limit === 5 && documents.used === 3 && documents.remaining === 2;
    });
    // Nothing of this shows in another organization's workspace.
    const other = await wsB.as<QuotaList>('GET', '/v1/quotas');
    expect(other.body.items.map((item) => item.used)).toEqual([0, 0, 0, 0]);
    expect(other.body.plan).toBe('starter');
  });
});

describe('access', () => {
  it('needs a workspace key with usage:read', async () => {
    const searchOnly = await createWorkspace(platform, orgA, 'search-only', ['search']);
    for (const path of ['/v1/usage', '/v1/quotas']) {
      const asSearch = await searchOnly.as('GET', path);
      expect(asSearch.status).toBe(403);
      expect(isProblem(asSearch)).toBe(true);
      expect((await orgA.admin('GET', path)).status).toBe(403);
      expect((await client(platform.gatewayUrl)('GET', path)).status).toBe(401);
    }
  });

  it('is in the OpenAPI document', async () => {
    const anonymous: Client = client(platform.gatewayUrl);
    const document = await anonymous<{ paths: Record<string, Record<string, { responses: object }>> }>(
      'GET',
      '/openapi.json',
    );
    expect(Object.keys(document.body.paths['/v1/usage'] ?? {})).toEqual(['get']);
    expect(Object.keys(document.body.paths['/v1/quotas'] ?? {})).toEqual(['get']);
    expect(Object.keys(document.body.paths['/v1/usage']?.get?.responses ?? {})).toEqual(
      expect.arrayContaining(['200', '400', '401', '403', '429']),
    );
  });
});
