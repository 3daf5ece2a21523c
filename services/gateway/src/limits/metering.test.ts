import type { UsageEvent } from '@kb/contracts';
import { createLogger } from '@kb/log';
import { describe, expect, it } from 'vitest';
import { createApiCallMeter } from './metering.js';

const log = createLogger({ service: 'gateway-test', version: '0', level: 'silent' });
const ORG = 'org_01aaaaaaaaaaaaaaaaaaaaaaaa';
const WS_A = 'ws_01aaaaaaaaaaaaaaaaaaaaaaaa';
const WS_B = 'ws_01bbbbbbbbbbbbbbbbbbbbbbbb';

describe('api call meter', () => {
  it('publishes one api_calls event per workspace with the calls counted since the last flush', async () => {
    const published: UsageEvent[] = [];
    const meter = createApiCallMeter({
      publish: async (event) => void published.push(event),
      log,
      intervalMs: 60_000,
    });
    for (let i = 0; i < 3; i += 1) meter.record(ORG, WS_A, 'free');
    meter.record(ORG, WS_B, 'free');
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

  it('retries an unacknowledged event with the same id, so it counts once', async () => {
    const attempts: UsageEvent[] = [];
    let failing = true;
    const meter = createApiCallMeter({
      log,
      intervalMs: 60_000,
      publish: async (event) => {
        attempts.push(event);
        if (failing) throw new Error('no JetStream ack');
      },
    });
    meter.record(ORG, WS_A, 'free');
    await meter.flush();
    expect(meter.backlog()).toBe(1);
    failing = false;
    meter.record(ORG, WS_A, 'free');
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
    const meter = createApiCallMeter({
      log,
      intervalMs: 60_000,
      maxBacklog: 5,
      publish: async () => {
        throw new Error('down');
      },
    });
    for (let i = 0; i < 8; i += 1) {
      meter.record(ORG, `ws_01${String(i).repeat(24)}`, 'free');
      await meter.flush();
    }
    expect(meter.backlog()).toBe(5);
  });
});
