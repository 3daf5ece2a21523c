import { ACTIVITY_PER_EVENT_MAX, type RequestActivity, type UsageEvent } from '@kb/contracts';
import { createLogger } from '@kb/log';
import { describe, expect, it } from 'vitest';
import { createUsageMeter, keepActivity } from './meter.js';

const log = createLogger({ service: 'bus-test', version: '0', level: 'silent' });
const ORG = 'org_01aaaaaaaaaaaaaaaaaaaaaaaa';
const WS_A = 'ws_01aaaaaaaaaaaaaaaaaaaaaaaa';
const WS_B = 'ws_01bbbbbbbbbbbbbbbbbbbbbbbb';

describe('usage meter', () => {
  it('publishes one api_calls event per workspace with the calls counted since the last flush', async () => {
    const published: UsageEvent[] = [];
    const meter = createUsageMeter({
      metric: 'api_calls',
      publish: async (event) => void published.push(event),
      log,
      intervalMs: 60_000,
    });
    for (let i = 0; i < 3; i += 1) meter.record(ORG, WS_A, 'free', 1);
    meter.record(ORG, WS_B, 'free', 1);
    await meter.flush();
    expect(published.map(({ workspace_id, metric, value }) => ({ workspace_id, metric, value }))).toEqual([
      { workspace_id: WS_A, metric: 'api_calls', value: 3 },
      { workspace_id: WS_B, metric: 'api_calls', value: 1 },
    ]);
    expect(new Set(published.map((event) => event.event_id)).size).toBe(2);
    await meter.flush();
    expect(published).toHaveLength(2);
    await meter.stop();
  });

  it('sums any metric per workspace: a searches meter publishes the searches counted, once each', async () => {
    const published: UsageEvent[] = [];
    const meter = createUsageMeter({
      metric: 'searches',
      publish: async (event) => void published.push(event),
      log,
      intervalMs: 60_000,
    });
    for (let i = 0; i < 40; i += 1) meter.record(ORG, i % 4 ? WS_A : WS_B, 'pro', 1);
    await meter.stop();
    meter.record(ORG, WS_A, 'pro', 1);
    await meter.stop();
    expect(published.map(({ workspace_id, metric, value }) => [workspace_id, metric, value])).toEqual([
      [WS_B, 'searches', 10],
      [WS_A, 'searches', 30],
    ]);
    expect(published.every((event) => event.event_id.startsWith('searches:') && !event.activity)).toBe(true);
  });

  it('retries an unacknowledged event with the same id, so it counts once', async () => {
    const attempts: UsageEvent[] = [];
    let failing = true;
    const meter = createUsageMeter({
      metric: 'api_calls',
      log,
      intervalMs: 60_000,
      publish: async (event) => {
        attempts.push(event);
        if (failing) throw new Error('no JetStream ack');
      },
    });
    meter.record(ORG, WS_A, 'free', 1);
    await meter.flush();
    expect(meter.backlog()).toBe(1);
    failing = false;
    meter.record(ORG, WS_A, 'free', 1);
    await meter.stop();
    expect(meter.backlog()).toBe(0);
    expect(attempts.map((event) => [event.event_id, event.value])).toEqual([
      [attempts[0]?.event_id, 1],
      [attempts[0]?.event_id, 1],
      [attempts[2]?.event_id, 1],
    ]);
    expect(attempts[2]?.event_id).not.toBe(attempts[0]?.event_id);
  });

  it('keeps a bounded backlog while publishing fails', async () => {
    const meter = createUsageMeter({
      metric: 'api_calls',
      log,
      intervalMs: 60_000,
      maxBacklog: 5,
      publish: async () => {
        throw new Error('down');
      },
    });
    for (let i = 0; i < 8; i += 1) {
      meter.record(ORG, `ws_01${String(i).repeat(24)}`, 'free', 1);
      await meter.flush();
    }
    expect(meter.backlog()).toBe(5);
  });
});

const request = (status: number, n = 0): RequestActivity => ({
  at: new Date(Date.UTC(2025, 0, 1, 0, 0, n)).toISOString(),
  route: 'GET /v1/quotas',
  status,
  duration_ms: 1.5,
  trace_id: 'ab'.repeat(16),
  request_id: `req-${n}`,
});

describe('request activity', () => {
  it('travels with the api_calls event; requests refused with 429 appear there without being charged', async () => {
    const published: UsageEvent[] = [];
    const meter = createUsageMeter({
      metric: 'api_calls',
      publish: async (event) => void published.push(event),
      log,
    });
    meter.record(ORG, WS_A, 'free', 1, request(200, 1));
    meter.record(ORG, WS_A, 'free', 0, request(429, 2));
    meter.record(ORG, WS_B, 'free', 0, request(429, 3));
    await meter.stop();
    expect(
      published.map(({ workspace_id, value, activity }) => [workspace_id, value, activity?.length]),
    ).toEqual([
      [WS_A, 1, 2],
      [WS_B, 0, 1],
    ]);
  });

  it('keeps at most the limit per event, failures before successes', () => {
    const kept: RequestActivity[] = [];
    for (let n = 0; n < ACTIVITY_PER_EVENT_MAX; n += 1)
      keepActivity(kept, request(n % 10 === 0 ? 503 : 200, n));
    keepActivity(kept, request(404, 100));
    keepActivity(kept, request(200, 101));
    expect(kept).toHaveLength(ACTIVITY_PER_EVENT_MAX);
    const failedBefore = Math.ceil(ACTIVITY_PER_EVENT_MAX / 10);
    expect(kept.filter((entry) => entry.status >= 400)).toHaveLength(failedBefore + 1);
    expect(kept.at(-1)?.request_id).toBe('req-101');
    expect(kept.some((entry) => entry.request_id === 'req-1')).toBe(false);
    const failures = Array.from({ length: ACTIVITY_PER_EVENT_MAX }, (_, n) => request(500, n));
    keepActivity(failures, request(200, 200));
    expect(failures.every((entry) => entry.status === 500)).toBe(true);
    keepActivity(failures, request(502, 201));
    expect([failures[0]?.request_id, failures.at(-1)?.request_id]).toEqual(['req-1', 'req-201']);
  });
});
