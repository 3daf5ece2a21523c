import { type ServerHandle, startRedis } from '@kb/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordStep } from '../src/domain/recorder.js';
import { eventually, type Harness, orgReader, reader, startUsage, tenant, usageEvent } from './helpers.js';

/*
 * Redis losing the live counters (FLUSHALL, or a restart of a Redis without persistence): the usage service
 * notices and rebuilds them from the MongoDB rollups, and every event still counts exactly once. This file
 * runs its own redis-server, so flushing and restarting it touches nothing else.
 */
let redis: ServerHandle;
let h: Harness;
/** Event id → the step after which its first delivery flushes Redis and "crashes". */
const crashes = new Map<string, RecordStep>();

beforeAll(async () => {
  redis = await startRedis({ persist: false });
  h = await startUsage({
    redisUrl: redis.url,
    counterCheckMs: 300,
    hooks: {
      async afterStep(step, event) {
        if (crashes.get(event.event_id) !== step) return;
        crashes.delete(event.event_id);
        await h.redis.flushall();
        throw new Error(`simulated crash after ${step}, with Redis emptied`);
      },
    },
  });
});

afterAll(async () => {
  await h?.stop();
  await redis?.destroy();
});

type Used = Record<string, number>;

const usedOf = async (caller: ReturnType<typeof reader>): Promise<Used> =>
  Object.fromEntries(
    (await h.request('usage.quotas.get', caller, {})).items.map((item) => [item.metric, item.used]),
  );

/** Two workspaces of one organization and a second organization, with gauges, deletions and last month. */
function history() {
  const a = tenant();
  const a2 = { org: a.org, ws: tenant().ws };
  const b = tenant();
  const lastMonth = new Date();
  lastMonth.setUTCDate(1);
  lastMonth.setUTCMonth(lastMonth.getUTCMonth() - 1);
  const events = [
    usageEvent(a.org, a.ws, 'documents', 5),
    usageEvent(a.org, a.ws, 'documents', -2),
    usageEvent(a.org, a.ws, 'bytes_ingested', 4_000),
    usageEvent(a.org, a.ws, 'chunks_stored', 40),
    usageEvent(a.org, a.ws, 'searches', 7),
    usageEvent(a.org, a.ws, 'searches', 100, lastMonth),
    usageEvent(a2.org, a2.ws, 'documents', 1),
    usageEvent(a2.org, a2.ws, 'searches', 2),
    usageEvent(b.org, b.ws, 'documents', 9),
    usageEvent(b.org, b.ws, 'searches', 11),
  ];
  const expected = {
    a: { documents: 3, storage_bytes: 4_000, chunks: 40, searches_per_month: 7 },
    a2: { documents: 1, storage_bytes: 0, chunks: 0, searches_per_month: 2 },
    orgA: { documents: 4, storage_bytes: 4_000, chunks: 40, searches_per_month: 9 },
    b: { documents: 9, storage_bytes: 0, chunks: 0, searches_per_month: 11 },
  };
  return { a, a2, b, events, expected };
}

async function expectUsage(
  t: ReturnType<typeof history>,
  expected: ReturnType<typeof history>['expected'],
): Promise<void> {
  expect(await usedOf(reader(t.a.org, t.a.ws))).toEqual(expected.a);
  expect(await usedOf(reader(t.a2.org, t.a2.ws))).toEqual(expected.a2);
  expect(await usedOf(orgReader(t.a.org))).toEqual(expected.orgA);
  expect(await usedOf(reader(t.b.org, t.b.ws))).toEqual(expected.b);
}

describe('when Redis loses the usage counters', () => {
  it('after FLUSHALL, quota reads wait for the counters rebuilt from MongoDB, and counting goes on from there', async () => {
    const t = history();
    for (const event of t.events) await h.publish(event);
    await h.settled();
    await expectUsage(t, t.expected);

    await h.redis.flushall();
    await expectUsage(t, t.expected);

    await h.publish(usageEvent(t.a.org, t.a.ws, 'documents', 2));
    // An event counted before the flush, published again under another message id, still counts once.
    const old = t.events[0] as (typeof t.events)[number];
    await h.publish(old, `${old.event_id}-again`);
    await h.settled();
    await expectUsage(t, {
      ...t.expected,
      a: { ...t.expected.a, documents: 5 },
      orgA: { ...t.expected.orgA, documents: 6 },
    });
  });

  it('after a restart of a Redis without persistence, the rebuild happens on reconnection', async () => {
    const t = history();
    for (const event of t.events) await h.publish(event);
    await h.settled();
    await redis.stop();
    await redis.start();
    await eventually(async () => expect(await h.redis.exists('kb:usage:counters-built')).toBe(1), 15_000);
    await expectUsage(t, t.expected);
  });

  it.each<RecordStep>(['stored', 'workspace-rolled-up', 'rolled-up', 'released', 'counted'])(
    'counts an event once whose first delivery stopped after "%s" just as Redis was emptied',
    async (step) => {
      const t = history();
      for (const event of t.events) await h.publish(event);
      await h.settled();
      const event = usageEvent(t.a.org, t.a.ws, 'chunks_stored', 60);
      crashes.set(event.event_id, step);
      await h.publish(event);
      await eventually(() => expect(crashes.has(event.event_id)).toBe(false));
      await h.settled();
      await expectUsage(t, {
        ...t.expected,
        a: { ...t.expected.a, chunks: 100 },
        orgA: { ...t.expected.orgA, chunks: 100 },
      });
    },
  );
});
