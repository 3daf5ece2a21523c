import { PLANS, type QuotaWarning, STREAMS } from '@kb/contracts';
import { uniqueName } from '@kb/testing';
import { jetstreamManager } from '@nats-io/jetstream';
import type { Subscription } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { monthKey } from '../src/domain/periods.js';
import { type Harness, startUsage, tenant, usageEvent } from './helpers.js';

/** Collects every quota warning published for `org`, as a subscriber of the subject would see them. */
function listen(
  harness: Harness,
  org: string,
): { received: QuotaWarning[]; ids: string[]; sub: Subscription } {
  const received: QuotaWarning[] = [];
  const ids: string[] = [];
  const sub = harness.nc.subscribe(`kb.${org}.*.evt.quota.warning`, {
    callback: (_error, msg) => {
      received.push(msg.json<QuotaWarning>());
      ids.push(msg.headers?.get('Nats-Msg-Id') ?? '');
    },
  });
  return { received, ids, sub };
}

/** Warnings are published before the event is acknowledged: once the consumer is idle, all are out. */
async function publishAll(harness: Harness, events: ReturnType<typeof usageEvent>[]): Promise<void> {
  for (const event of events) await harness.publish(event);
  await harness.settled();
  await harness.nc.flush();
}

const summary = (warnings: QuotaWarning[]) =>
  warnings.map((w) => [w.workspace_id === null ? 'org' : 'ws', w.metric, w.threshold, w.used, w.limit]);

describe('quota warnings', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startUsage();
  });

  afterAll(async () => {
    await h?.stop();
  });

  it('are published at 80% and 100% of a workspace’s quota, once each per month, with the id as Nats-Msg-Id', async () => {
    const { org, ws } = tenant();
    h.overrides.set(ws, { documents: 10 });
    const seen = listen(h, org);
    await publishAll(h, [usageEvent(org, ws, 'documents', 7)]);
    expect(seen.received).toEqual([]);

    await publishAll(h, [usageEvent(org, ws, 'documents', 1)]);
    expect(summary(seen.received)).toEqual([['ws', 'documents', 80, 8, 10]]);
    const [first] = seen.received as [QuotaWarning];
    expect(first).toMatchObject({
      org_id: org,
      workspace_id: ws,
      plan: 'free',
      period: monthKey(new Date()),
    });
    expect(seen.ids[0]).toBe(first.event_id);

    // Further use below the next threshold, and an event delivered twice, publish nothing new.
    const again = usageEvent(org, ws, 'documents', 1);
    await publishAll(h, [again, { ...again }]);
    await h.publish(again, `${again.event_id}-republished`);
    await publishAll(h, [usageEvent(org, ws, 'documents', 1)]);
    expect(summary(seen.received)).toEqual([
      ['ws', 'documents', 80, 8, 10],
      ['ws', 'documents', 100, 10, 10],
    ]);
    await publishAll(h, [usageEvent(org, ws, 'documents', 3), usageEvent(org, ws, 'documents', -5)]);
    await publishAll(h, [usageEvent(org, ws, 'documents', 2)]);
    expect(seen.received).toHaveLength(2);

    // JetStream holds each warning once, on the workspace's subject.
    const jsm = await jetstreamManager(h.nc);
    const stored = await jsm.streams.getMessage(STREAMS.events.name, {
      last_by_subj: `kb.${org}.${ws}.evt.quota.warning`,
    });
    expect(stored?.json<QuotaWarning>().threshold).toBe(100);
    seen.sub.unsubscribe();
  });

  it('cover the organization’s plan too, publishing both thresholds in order when one event crosses them', async () => {
    const { org, ws } = tenant();
    h.plans.set(org, 'starter');
    const seen = listen(h, org);
    await publishAll(h, [usageEvent(org, ws, 'searches', PLANS.starter.searches_per_month)]);
    const limit = PLANS.starter.searches_per_month;
    expect(summary(seen.received)).toEqual([
      ['ws', 'searches_per_month', 80, limit, limit],
      ['ws', 'searches_per_month', 100, limit, limit],
      ['org', 'searches_per_month', 80, limit, limit],
      ['org', 'searches_per_month', 100, limit, limit],
    ]);
    expect(seen.received.every((warning) => warning.plan === 'starter')).toBe(true);
    // Usage that counts against no quota (API calls) never warns.
    await publishAll(h, [usageEvent(org, ws, 'api_calls', 10_000_000)]);
    expect(seen.received).toHaveLength(4);
    seen.sub.unsubscribe();
  });
});

// Alone in its describe block: no other instance of the service consumes (and warns) meanwhile.
describe('quota warnings after a restart', () => {
  it('are not published again by a new instance of the service, whose memory is fresh', {
    timeout: 90_000,
  }, async () => {
    const database = uniqueName('usage_warnings');
    const durable = uniqueName('warnings').replaceAll('_', '-');
    const { org, ws } = tenant();
    const first = await startUsage({ database, durable });
    first.overrides.set(ws, { chunks: 100 });
    const seen = listen(first, org);
    try {
      await publishAll(first, [usageEvent(org, ws, 'chunks_stored', 85)]);
    } finally {
      await first.stop({ keepData: true });
    }
    const second = await startUsage({ database, durable, purge: false });
    second.overrides.set(ws, { chunks: 100 });
    const later = listen(second, org);
    try {
      await publishAll(second, [usageEvent(org, ws, 'chunks_stored', 5)]);
      expect(summary(seen.received)).toEqual([['ws', 'chunks', 80, 85, 100]]);
      expect(later.received).toEqual([]);
    } finally {
      later.sub.unsubscribe();
      await second.stop();
    }
  });
});
