import type { UsageEvent } from '@kb/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivity } from '../src/domain/activity.js';
import { createCounters, EVENT_MEMORY_S } from '../src/domain/counters.js';
import { createGate } from '../src/domain/gate.js';
import { createPruner } from '../src/domain/prune.js';
import { createRecorder, type RecorderHooks } from '../src/domain/recorder.js';
import { type Harness, log, orgReader, reader, startUsage, tenant, usageEvent } from './helpers.js';

/*
 * The recorder driven directly (as the metering consumer drives it), with recorders standing for several
 * replicas over the same MongoDB and Redis: events recorded together go as one batch per organization.
 */
let h: Harness;

beforeAll(async () => {
  h = await startUsage();
});

afterAll(async () => {
  await h?.stop();
});

const recorder = (hooks: RecorderHooks = {}) =>
  createRecorder(h.service.stores, createCounters(h.redis), createGate(), { hooks });

const daily = async (caller: ReturnType<typeof reader>) =>
  Object.fromEntries(
    (await h.request('usage.report.get', caller, {})).items.map((item) => [item.metric, item.value]),
  );

const used = async (caller: ReturnType<typeof reader>) =>
  Object.fromEntries(
    (await h.request('usage.quotas.get', caller, {})).items.map((item) => [item.metric, item.used]),
  );

describe('events recorded together', () => {
  it('go as a few batches per organization, each event counted once, copies included', async () => {
    const a = tenant();
    const a2 = { org: a.org, ws: tenant().ws };
    const b = tenant();
    const events: UsageEvent[] = [];
    for (let i = 0; i < 150; i += 1) {
      events.push(usageEvent(a.org, i % 2 ? a.ws : a2.ws, 'chunks_stored', 3));
      events.push(usageEvent(a.org, a.ws, 'documents', 1));
    }
    for (let i = 0; i < 100; i += 1) events.push(usageEvent(b.org, b.ws, 'searches', 2));
    const copies = events.filter((_, i) => i % 20 === 0);
    const record = recorder().record;

    const outcomes = await Promise.all([...events, ...copies].map((event) => record(event)));

    expect(outcomes.filter((outcome) => outcome === 'recorded')).toHaveLength(events.length);
    expect(outcomes.filter((outcome) => outcome === 'duplicate')).toHaveLength(copies.length);
    expect(await daily(reader(a.org, a.ws))).toEqual({ chunks_stored: 225, documents: 150 });
    expect(await daily(reader(a2.org, a2.ws))).toEqual({ chunks_stored: 225 });
    expect(await daily(orgReader(a.org))).toEqual({ chunks_stored: 450, documents: 150 });
    expect(await daily(reader(b.org, b.ws))).toEqual({ searches: 200 });
    expect(await used(reader(a.org, a.ws))).toMatchObject({ chunks: 225, documents: 150 });
    expect(await used(orgReader(a.org))).toMatchObject({ chunks: 450, documents: 150 });
    expect(await used(reader(b.org, b.ws))).toMatchObject({ searches_per_month: 200 });
    const batches = await h.service.stores.batches.in({ org_id: a.org }).find();
    expect(batches.length).toBeLessThanOrEqual(3);
    expect(batches.every((batch) => batch.state === 'counted')).toBe(true);
    const rollups = await h.service.stores.rollups.in({ org_id: a.org, workspace_id: null }).find();
    expect(rollups.every((rollup) => rollup.inflight.length === 0)).toBe(true);
  });

  it('go together when they arrive one by one in a steady stream, and at once after a quiet spell', async () => {
    const t = tenant();
    // A gathering time far above what a batch's writes take, so that waiting for it cannot pass unnoticed.
    const gatherMs = 3_000;
    const record = createRecorder(h.service.stores, createCounters(h.redis), createGate(), {
      gatherMs,
    }).record;
    const events = Array.from({ length: 40 }, () => usageEvent(t.org, t.ws, 'searches', 1));
    // One event every 10 ms, each recorded without waiting for the one before (as deliveries are).
    const recorded: Promise<unknown>[] = [];
    for (const event of events) {
      recorded.push(record(event));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(await Promise.all(recorded)).toEqual(events.map(() => 'recorded'));
    expect(await daily(reader(t.org, t.ws))).toEqual({ searches: 40 });
    // About 400 ms of events: a batch for the first, the rest together once the gathering time is over.
    const batches = await h.service.stores.batches.in({ org_id: t.org }).find();
    expect(batches.length).toBeGreaterThanOrEqual(2);
    expect(batches.length).toBeLessThanOrEqual(3);

    // After a quiet spell an event goes at once, not after the gathering time.
    await new Promise((resolve) => setTimeout(resolve, gatherMs));
    const started = performance.now();
    await record(usageEvent(t.org, t.ws, 'searches', 1));
    expect(performance.now() - started).toBeLessThan(gatherMs / 2);
    expect(await daily(reader(t.org, t.ws))).toEqual({ searches: 41 });
  });

  it('count once when another replica takes a batch over before its creator stored it', async () => {
    const t = tenant();
    const event = usageEvent(t.org, t.ws, 'bytes_ingested', 1_000);
    const other = recorder();
    let takenOver: string | undefined;
    // The first replica stalls after storing the event; a redelivery reaches the second one meanwhile.
    const first = recorder({
      async afterStep(step, seen) {
        if (step !== 'stored' || seen.event_id !== event.event_id || takenOver) return;
        takenOver = await other.record(event);
      },
    });

    await expect(first.record(event)).rejects.toThrow();
    expect(takenOver).toBe('resumed');
    // The first replica's message is delivered again, and finds the event counted.
    expect(await first.record(event)).toBe('duplicate');

    expect(await daily(reader(t.org, t.ws))).toEqual({ bytes_ingested: 1_000 });
    expect(await used(reader(t.org, t.ws))).toMatchObject({ storage_bytes: 1_000 });
    const states = (await h.service.stores.batches.in({ org_id: t.org }).find()).map((batch) => batch.state);
    expect(states.sort()).toEqual(['counted', 'void']);
  });

  it('are forgotten with their batch once the stream can no longer redeliver them, unless not yet counted', async () => {
    const t = tenant();
    const record = recorder().record;
    const old = [usageEvent(t.org, t.ws, 'searches', 1), usageEvent(t.org, t.ws, 'searches', 1)];
    await Promise.all(old.map((event) => record(event)));
    const recent = usageEvent(t.org, t.ws, 'searches', 1);
    await record(recent);
    const { stores } = h.service;
    const events = stores.events.in({ org_id: t.org, workspace_id: t.ws });
    const oldBatch = (await events.findOne({ _id: `${t.ws}/${old[0]?.event_id}` }))?.batch;
    const longAgo = new Date(Date.now() - (EVENT_MEMORY_S + 60) * 1000);
    await stores.batches
      .in({ org_id: t.org })
      .updateOne({ _id: oldBatch }, { $set: { created_at: longAgo } });
    // A batch as old that never finished keeps its events, for a late redelivery.
    await stores.batches.in({ org_id: t.org }).create({
      _id: 'batch_unfinished',
      state: 'rolled-up',
      created_at: longAgo,
      events: [],
    });
    const pruner = createPruner(stores, createActivity(stores, log), log);
    try {
      await pruner.prune();
    } finally {
      pruner.stop();
    }
    const left = (await events.find()).map((doc) => doc.event_id);
    expect(left).toEqual([recent.event_id]);
    const batches = (await stores.batches.in({ org_id: t.org }).find()).map((batch) => batch._id);
    expect(batches).toContain('batch_unfinished');
    expect(batches).not.toContain(oldBatch);
    // Usage already counted stays counted.
    expect(await daily(reader(t.org, t.ws))).toEqual({ searches: 3 });
  });
});
