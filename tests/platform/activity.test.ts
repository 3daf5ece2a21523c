import { newId } from '@kb/tenancy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DocumentsPlatform,
  type DocumentView,
  settled,
  startDocumentsPlatform,
} from './documents.helpers.ts';
import { type Answer, type Client, client, isProblem } from './http.ts';
import { createOrg, createWorkspace, type OrgFixture, type WorkspaceFixture, within } from './tenants.ts';

/*
 * The operator's `GET /v1/ops/orgs/{org_id}/activity`: an organization's recent requests and ingestion jobs
 * with route or job, status, duration and trace id, fed by the usage and document events.
 */
let dp: DocumentsPlatform;
let operator: Client;
let orgA: OrgFixture;
let wsA: WorkspaceFixture;
let wsB: WorkspaceFixture;

interface Item {
  time: string;
  kind: 'request' | 'job';
  workspace_id: string;
  route: string | null;
  job: string | null;
  document_id: string | null;
  status: number | string;
  duration_ms: number | null;
  trace_id: string | null;
  request_id: string | null;
  error: string | null;
}
type Page = { items: Item[]; next_cursor: string | null };

const traceOf = (answer: Answer<unknown>) => answer.headers.get('traceparent')?.split('-')[1];

beforeAll(async () => {
  dp = await startDocumentsPlatform();
  operator = client(dp.platform.gatewayUrl, dp.platform.env.KB_MASTER_KEY);
  orgA = await createOrg(dp.platform, 'Active A', 'starter');
  wsA = await createWorkspace(dp.platform, orgA, 'active-a');
  wsB = await createWorkspace(dp.platform, await createOrg(dp.platform, 'Active B', 'starter'), 'active-b');
});

afterAll(async () => {
  await dp?.stop();
});

/** Every item of the organization's activity, through the pages. */
async function activityOf(org: string, limit = 100): Promise<Item[]> {
  const items: Item[] = [];
  let cursor: string | null = null;
  do {
    const page: Answer<Page> = await operator(
      'GET',
      `/v1/ops/orgs/${org}/activity?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`,
    );
    expect(page.status, JSON.stringify(page.body)).toBe(200);
    items.push(...page.body.items);
    cursor = page.body.next_cursor;
  } while (cursor);
  return items;
}

describe('GET /v1/ops/orgs/{org_id}/activity', () => {
  it('lists an organization’s requests and jobs with route or job, status, duration and the trace id clients saw', async () => {
    const quotas = await wsA.as('GET', '/v1/quotas');
    expect(quotas.status).toBe(200);
    const missing = await wsA.as('GET', `/v1/documents/${newId('document')}`);
    expect(missing.status).toBe(404);
    const good = await wsA.as<DocumentView>('POST', '/v1/documents', {
      content: 'Otters hold hands while asleep.',
    });
    const bad = await wsA.as<DocumentView>('POST', '/v1/documents', {
      content: '{"broken": ',
      content_type: 'application/json',
    });
    expect([good.status, bad.status]).toEqual([202, 202]);
    await settled(wsA, good.body.id);
    await settled(wsA, bad.body.id);
    expect((await wsB.as('GET', '/v1/quotas')).status).toBe(200);

    const answers = [quotas, missing, good, bad];
    const request = (answer: Answer<unknown>) =>
      items.find((item) => item.kind === 'request' && item.request_id === answer.headers.get('x-request-id'));
    let items: Item[] = [];
    await within(20_000, async () => {
      items = await activityOf(orgA.id);
      const jobs = items.filter((item) => item.kind === 'job' && item.status !== 'queued');
      return answers.every((answer) => request(answer)) && jobs.length === 2;
    });
    expect(request(quotas)).toMatchObject({
      kind: 'request',
      workspace_id: wsA.id,
      route: 'GET /v1/quotas',
      status: 200,
      trace_id: traceOf(quotas),
      job: null,
    });
    expect(request(quotas)?.duration_ms).toBeGreaterThan(0);
    expect(request(missing)).toMatchObject({ route: 'GET /v1/documents/:doc_id', status: 404 });
    expect(request(good)).toMatchObject({
      route: 'POST /v1/documents',
      status: 202,
      trace_id: traceOf(good),
    });

    const job = (id: string) => items.find((item) => item.kind === 'job' && item.document_id === id);
    expect(job(good.body.id)).toMatchObject({
      job: 'ingest',
      status: 'ready',
      workspace_id: wsA.id,
      route: null,
      error: null,
      trace_id: traceOf(good),
      request_id: good.headers.get('x-request-id'),
    });
    expect(job(good.body.id)?.duration_ms).toBeGreaterThan(0);
    expect(job(bad.body.id)).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/JSON is invalid/),
    });

    // Newest first, and nothing of another organization's workspaces.
    const times = items.map((item) => Date.parse(item.time));
    expect(times).toEqual([...times].sort((x, y) => y - x));
    expect(items.every((item) => item.workspace_id === wsA.id)).toBe(true);
    expect((await activityOf(wsB.org.id)).every((item) => item.workspace_id === wsB.id)).toBe(true);
  });

  it('pages with limit and cursor as every list does, refusing bad values with a problem naming the field', async () => {
    // Once the last requests of the test before have arrived, the list holds still.
    let all: Item[] = [];
    await within(15_000, async () => {
      const before = await activityOf(orgA.id);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      all = await activityOf(orgA.id);
      return all.length === before.length;
    });
    expect(all.length).toBeGreaterThanOrEqual(6);
    expect(await activityOf(orgA.id, 1)).toEqual(all);
    const first = await operator<Page>('GET', `/v1/ops/orgs/${orgA.id}/activity`);
    expect(first.body.items.length).toBeLessThanOrEqual(20);
    for (const [query, field] of [
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['cursor=not*a*cursor', 'cursor'],
      ['cursor=bm90LWEtY3Vyc29y', 'cursor'],
    ]) {
      const answer = await operator('GET', `/v1/ops/orgs/${orgA.id}/activity?${query}`);
      expect(answer.status, query).toBe(400);
      expect(isProblem(answer)).toBe(true);
      expect(String(answer.body.detail)).toContain(field);
    }
  });

  it('is for the operator alone: one organization’s credentials never see another’s activity, nor their own', async () => {
    const path = `/v1/ops/orgs/${orgA.id}/activity`;
    const otherAdmin = await wsB.org.admin('GET', path);
    expect(otherAdmin.status).toBe(403);
    expect(isProblem(otherAdmin)).toBe(true);
    expect((await orgA.admin('GET', path)).status).toBe(403);
    expect((await wsA.as('GET', path)).status).toBe(403);
    expect((await wsB.as('GET', path)).status).toBe(403);
    expect((await client(dp.platform.gatewayUrl)('GET', path)).status).toBe(401);
    const unknown = await operator('GET', `/v1/ops/orgs/${newId('org')}/activity`);
    expect(unknown.status).toBe(404);
    expect(isProblem(unknown)).toBe(true);
    expect((await operator('GET', '/v1/ops/orgs/not-an-org/activity')).status).toBe(400);
  });

  it('is in the OpenAPI document', async () => {
    const document = await client(dp.platform.gatewayUrl)<{ paths: Record<string, Record<string, unknown>> }>(
      'GET',
      '/openapi.json',
    );
    expect(Object.keys(document.body.paths['/v1/ops/orgs/{org_id}/activity'] ?? {})).toEqual(['get']);
  });
});
