import { createPublisher } from '@kb/bus';
import { meteringSubject, STREAMS, UsageEvent } from '@kb/contracts';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordStep } from '../src/domain/recorder.js';
import { context, type Harness, orgReader, reader, sign, startUsage, tenant, usageEvent } from './helpers.js';

let h: Harness;
/** Event id → the step after which its first delivery "crashes". */
const crashes = new Map<string, RecordStep>();

beforeAll(async () => {
  h = await startUsage({
    hooks: {
      afterStep(step, event) {
        if (crashes.get(event.event_id) !== step) return;
        crashes.delete(event.event_id);
        throw new Error(`simulated crash after ${step}`);
      },
    },
  });
});

afterAll(async () => {
  await h?.stop();
});

const report = (org: string, ws: string, query: Record<string, string> = {}) =>
  h.request('usage.report.get', reader(org, ws), { granularity: 'day', ...query });

const used = async (
  org: string,
  ws: string,
  metric: 'documents' | 'searches_per_month' | 'chunks' | 'storage_bytes',
) =>
  (await h.request('usage.quotas.get', reader(org, ws), {})).items.find((item) => item.metric === metric)
    ?.used;

describe('exactly once in effect', () => {
  it('counts an event published twice once, whether JetStream or the service drops the copy', async () => {
    const { org, ws } = tenant();
    const event = usageEvent(org, ws, 'searches', 3);
    expect(await h.publish(event)).toEqual({ duplicate: false });
    // Same Nats-Msg-Id within the duplicate window: JetStream keeps one copy.
    expect(await h.publish(event)).toEqual({ duplicate: true });
    // A re-publication past the window (another message id, same event id): the service drops it.
    expect(await h.publish(event, `${event.event_id}-again`)).toEqual({ duplicate: false });
    await h.publish(usageEvent(org, ws, 'searches', 2));
    await h.settled();
    const { items } = await report(org, ws);
    expect(items).toEqual([{ period_start: expect.any(String), metric: 'searches', value: 5 }]);
    expect(await used(org, ws, 'searches_per_month')).toBe(5);
  });

  it.each<RecordStep>(['stored', 'batched', 'workspace-rolled-up', 'rolled-up', 'released', 'counted'])(
    'counts an event once when its first delivery crashed after step "%s"',
    async (step) => {
      const { org, ws } = tenant();
      const event = usageEvent(org, ws, 'documents', 7);
      crashes.set(event.event_id, step);
      await h.publish(event);
      await h.settled();
      expect(crashes.has(event.event_id)).toBe(false);
      expect((await report(org, ws)).items.map((item) => item.value)).toEqual([7]);
      expect((await h.request('usage.report.get', orgReader(org), {})).items.map((i) => i.value)).toEqual([
        7,
      ]);
      expect(await used(org, ws, 'documents')).toBe(7);
      const rollups = await h.service.stores.rollups.in({ org_id: org, workspace_id: ws }).find();
      expect(rollups.map((doc) => doc.inflight)).toEqual([[]]);
    },
  );
});

describe('rollups', () => {
  it('by hour and by day, in UTC, within [from, to)', async () => {
    const { org, ws } = tenant();
    const events = [
      usageEvent(org, ws, 'api_calls', 2, '2024-03-01T10:15:00Z'),
      usageEvent(org, ws, 'api_calls', 3, '2024-03-01T10:45:00.500Z'),
      usageEvent(org, ws, 'documents', 2, '2024-03-01T10:20:00Z'),
      usageEvent(org, ws, 'api_calls', 1, '2024-03-01T23:59:59Z'),
      usageEvent(org, ws, 'api_calls', 4, '2024-03-02T00:00:00Z'),
      usageEvent(org, ws, 'api_calls', 9, '2024-03-03T08:00:00+02:00'),
    ];
    for (const event of events) await h.publish(event);
    await h.settled();

    const hourly = await report(org, ws, { granularity: 'hour', from: '2024-03-01', to: '2024-03-03' });
    expect(hourly.items).toEqual([
      { period_start: '2024-03-01T10:00:00.000Z', metric: 'api_calls', value: 5 },
      { period_start: '2024-03-01T10:00:00.000Z', metric: 'documents', value: 2 },
      { period_start: '2024-03-01T23:00:00.000Z', metric: 'api_calls', value: 1 },
      { period_start: '2024-03-02T00:00:00.000Z', metric: 'api_calls', value: 4 },
    ]);
    const daily = await report(org, ws, { from: '2024-03-01T12:00:00Z', to: '2024-03-04' });
    expect(daily.items).toEqual([
      { period_start: '2024-03-01T00:00:00.000Z', metric: 'api_calls', value: 6 },
      { period_start: '2024-03-01T00:00:00.000Z', metric: 'documents', value: 2 },
      { period_start: '2024-03-02T00:00:00.000Z', metric: 'api_calls', value: 4 },
      { period_start: '2024-03-03T00:00:00.000Z', metric: 'api_calls', value: 9 },
    ]);
    const narrow = await report(org, ws, {
      granularity: 'hour',
      from: '2024-03-01T10:59:00Z',
      to: '2024-03-02T00:00:00Z',
    });
    expect(narrow.items.map((item) => item.period_start)).toEqual([
      '2024-03-01T10:00:00.000Z',
      '2024-03-01T10:00:00.000Z',
      '2024-03-01T23:00:00.000Z',
    ]);
  });

  it('of an organization equal the sum of its workspaces', async () => {
    const { org } = tenant();
    const workspaces = [tenant().ws, tenant().ws, tenant().ws];
    const metrics = ['api_calls', 'searches', 'documents', 'chunks_stored'] as const;
    const base = Date.parse('2024-05-10T00:00:00Z');
    let seed = 7;
    const random = () => {
      seed = (seed * 48_271) % 2_147_483_647;
      return seed;
    };
    for (let i = 0; i < 60; i += 1) {
      const ws = workspaces[random() % workspaces.length] as string;
      const metric = metrics[random() % metrics.length] as (typeof metrics)[number];
      const at = new Date(base + (random() % (72 * 3_600_000)));
      await h.publish(usageEvent(org, ws, metric, (random() % 50) - 10, at));
    }
    await h.settled();
    for (const granularity of ['day', 'hour'] as const) {
      const query = { granularity, from: '2024-05-10', to: '2024-05-14' };
      const sums = new Map<string, number>();
      for (const ws of workspaces) {
        for (const item of (await h.request('usage.report.get', reader(org, ws), query)).items) {
          const key = `${item.period_start} ${item.metric}`;
          sums.set(key, (sums.get(key) ?? 0) + item.value);
        }
      }
      const whole = await h.request('usage.report.get', orgReader(org), query);
      expect(whole.items.length).toBeGreaterThan(0);
      expect(new Map(whole.items.map((item) => [`${item.period_start} ${item.metric}`, item.value]))).toEqual(
        sums,
      );
    }
  });

  it('keep gauges net of deletions (negative deltas)', async () => {
    const { org, ws } = tenant();
    for (const [metric, value] of [
      ['documents', 3],
      ['chunks_stored', 30],
      ['bytes_ingested', 3_000],
      ['documents', -1],
      ['chunks_stored', -10],
      ['bytes_ingested', -1_000],
    ] as const) {
      await h.publish(usageEvent(org, ws, metric, value));
    }
    await h.settled();
    const quotas = await h.request('usage.quotas.get', reader(org, ws), {});
    expect(Object.fromEntries(quotas.items.map((item) => [item.metric, item.used]))).toEqual({
      documents: 2,
      storage_bytes: 2_000,
      chunks: 20,
      searches_per_month: 0,
    });
    const { items } = await report(org, ws);
    expect(items.map((item) => [item.metric, item.value])).toEqual([
      ['documents', 2],
      ['bytes_ingested', 2_000],
      ['chunks_stored', 20],
    ]);
  });
});

describe('isolation', () => {
  it('never shows one tenant’s events to another, and refuses events naming another tenant', async () => {
    const a = tenant();
    const b = tenant();
    await h.publish(usageEvent(a.org, a.ws, 'searches', 4));
    const publisher = createPublisher(h.nc);
    const asB = sign(context(b.org, b.ws, []));
    // B's publisher tries to charge A: the body names A, the subject and signed context are B's.
    const forged = usageEvent(a.org, a.ws, 'searches', 100);
    await publisher.publish(
      meteringSubject({ org: b.org, ws: b.ws }, 'searches'),
      UsageEvent,
      forged,
      asB,
      forged.event_id,
    );
    // And an event on another metric's subject than its body says.
    const misfiled = usageEvent(b.org, b.ws, 'documents', 50);
    await publisher.publish(meteringSubject(b, 'searches'), UsageEvent, misfiled, asB, misfiled.event_id);
    await h.settled();

    expect((await report(a.org, a.ws)).items.map((item) => item.value)).toEqual([4]);
    expect((await report(b.org, b.ws)).items).toEqual([]);
    expect((await h.request('usage.report.get', orgReader(b.org), {})).items).toEqual([]);
    // A reader of B asking on A's subject is refused before any handler runs.
    const wrongSubject = { context: reader(b.org, b.ws).context, token: reader(b.org, b.ws).token };
    wrongSubject.context = { ...wrongSubject.context, org: a.org, ws: a.ws };
    await expect(h.request('usage.report.get', wrongSubject, {})).rejects.toMatchObject({ status: 401 });

    const jsm = await jetstreamManager(h.nc);
    const dead = await jsm.streams.getMessage(STREAMS.deadLetter.name, {
      last_by_subj: `kbdlq.kb-usage.${h.durable}`,
    });
    expect(dead?.header.get('Kb-Dead-Reason')).toMatch(/arrived on|another tenant/);
  });
});
