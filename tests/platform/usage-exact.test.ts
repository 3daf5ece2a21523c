import { randomUUID } from 'node:crypto';
import { createPublisher } from '@kb/bus';
import { STREAMS, UsageEvent } from '@kb/contracts';
import { createContextSigner, type TenantContext } from '@kb/tenancy';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DocumentsPlatform, settled, startDocumentsPlatform } from './documents.helpers.ts';
import type { Client } from './http.ts';
import { createOrg, createWorkspace, type WorkspaceFixture } from './tenants.ts';

/*
 * Metering end to end: known numbers of API calls, uploads and searches in two organizations, read back
 * exactly per metric and tenant through GET /v1/usage (searches sent with one client-chosen request id each
 * still count one by one); then every usage event of both is published again
 * (new message ids, so JetStream's de-duplication does not hide them) and nothing changes.
 */

let dp: DocumentsPlatform;
let nc: NatsConnection;

beforeAll(async () => {
  dp = await startDocumentsPlatform();
  nc = await connect({ servers: dp.platform.env.KB_NATS_URL });
});

afterAll(async () => {
  await nc?.drain();
  await dp?.stop();
});

type Report = { items: { period_start: string; metric: string; value: number }[] };

/** A workspace whose every request through the gateway is counted here. */
interface Counted {
  ws: WorkspaceFixture;
  calls: number;
  as: Client;
}

function counted(ws: WorkspaceFixture): Counted {
  const tracked: Counted = {
    ws,
    calls: 0,
    as: (async (...args: Parameters<Client>) => {
      tracked.calls += 1;
      return ws.as(...args);
    }) as Client,
  };
  return tracked;
}

const METRICS = ['api_calls', 'documents', 'searches'] as const;

/** Today's totals of `metrics` for the workspace (its own GET counted like any other call). */
async function totals(tenant: Counted): Promise<Record<(typeof METRICS)[number], number>> {
  const report = await tenant.as<Report>('GET', '/v1/usage?granularity=day');
  expect(report.status, JSON.stringify(report.body)).toBe(200);
  const today = `${new Date().toISOString().slice(0, 10)}T00:00:00.000Z`;
  const value = (metric: string) =>
    report.body.items
      .filter((item) => item.metric === metric && item.period_start === today)
      .reduce((sum, item) => sum + item.value, 0);
  return { api_calls: value('api_calls'), documents: value('documents'), searches: value('searches') };
}

/**
 * Polls until the report shows exactly `expected` (API calls: every call made before the reading one, which
 * cannot count itself), and stays so on the next reading.
 */
async function expectExactly(
  tenant: Counted,
  expected: { documents: number; searches: number },
): Promise<void> {
  const deadline = Date.now() + 30_000;
  let last: Record<string, number> = {};
  let stableReadings = 0;
  while (Date.now() < deadline) {
    const callsBefore = tenant.calls;
    last = await totals(tenant);
    const want = { api_calls: callsBefore, ...expected };
    stableReadings = METRICS.every((metric) => last[metric] === want[metric]) ? stableReadings + 1 : 0;
    if (stableReadings === 2) return;
    await new Promise((resolve) => setTimeout(resolve, 1_500));
  }
  expect(last).toEqual({ api_calls: tenant.calls - 1, ...expected });
}

/**
 * Every usage event of `org` in the stream, published again as its producer would (same body and event id,
 * a freshly signed context) under a new message id.
 */
async function republishUsage(org: string): Promise<number> {
  const jsm = await jetstreamManager(nc);
  const consumer = await jsm.consumers.add(STREAMS.usage.name, {
    filter_subject: `kb.${org}.*.metering.>`,
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.All,
    inactive_threshold: 60_000_000_000,
  });
  const js = jetstream(nc);
  const pending = (await jsm.consumers.info(STREAMS.usage.name, consumer.name)).num_pending;
  const messages = await (await js.consumers.get(STREAMS.usage.name, consumer.name)).fetch({
    max_messages: pending,
    expires: 5_000,
  });
  const signer = createContextSigner(dp.platform.env.KB_CONTEXT_SECRET ?? '');
  const publisher = createPublisher(nc);
  let count = 0;
  for await (const message of messages) {
    const event = message.json() as UsageEvent;
    const context: TenantContext = {
      org: event.org_id,
      ws: event.workspace_id,
      kid: 'ingestion',
      scopes: [],
      plan: '',
      rid: randomUUID(),
    };
    await publisher.publish(
      message.subject,
      UsageEvent,
      event,
      { context, token: signer.sign(context) },
      `again-${message.seq}`,
    );
    count += 1;
    if (count === pending) break;
  }
  await jsm.consumers.delete(STREAMS.usage.name, consumer.name);
  return count;
}

describe('usage, exactly', () => {
  it('reports exactly the calls, documents and searches of each tenant, and counts a republished event once', async () => {
    const a = counted(
      await createWorkspace(dp.platform, await createOrg(dp.platform, 'Exact A', 'pro'), 'exact-a'),
    );
    const b = counted(
      await createWorkspace(dp.platform, await createOrg(dp.platform, 'Exact B', 'pro'), 'exact-b'),
    );
    const plan = [
      { tenant: a, uploads: 3, searches: 4 },
      { tenant: b, uploads: 2, searches: 1 },
    ];
    for (const { tenant, uploads, searches } of plan) {
      const ids: string[] = [];
      for (let i = 0; i < uploads; i++) {
        const answer = await tenant.as<{ id: string }>('POST', '/v1/documents', {
          content: `exact ${tenant.ws.id} ${i} narwhal`,
        });
        expect(answer.status).toBe(202);
        ids.push(answer.body.id);
      }
      for (const id of ids) {
        // `settled` polls with the workspace's key: count those calls too.
        const view = await settled({ ...tenant.ws, as: tenant.as }, id);
        expect(view.status).toBe('ready');
      }
      // The client's own request id, the same on every search of the tenant: each search still counts.
      const requestId = `client-${randomUUID()}`;
      for (let i = 0; i < searches; i++) {
        const answer = await tenant.as<{ results: unknown[] }>(
          'POST',
          '/v1/search',
          { query: 'narwhal', top_k: 20 },
          { 'x-request-id': requestId },
        );
        expect(answer.status, JSON.stringify(answer.body)).toBe(200);
        expect(answer.headers.get('x-request-id')).toBe(requestId);
        expect(answer.body.results.length).toBeGreaterThan(0);
      }
    }
    await expectExactly(a, { documents: 3, searches: 4 });
    await expectExactly(b, { documents: 2, searches: 1 });

    const republished = (await republishUsage(a.ws.org.id)) + (await republishUsage(b.ws.org.id));
    expect(republished).toBeGreaterThanOrEqual(10);
    // Give the usage service time to take every copy, then the totals are those of before.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await expectExactly(a, { documents: 3, searches: 4 });
    await expectExactly(b, { documents: 2, searches: 1 });
  });
});
