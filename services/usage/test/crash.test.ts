import { uniqueName } from '@kb/testing';
import { describe, expect, it } from 'vitest';
import type { RecordStep } from '../src/domain/recorder.js';
import { type Harness, reader, startUsage, tenant, usageEvent } from './helpers.js';

/*
 * A process that dies mid-event (its connection gone, nothing acknowledged) and another instance of the
 * service that takes over the same durable consumer and database: the event is redelivered after the ack
 * wait and must count once.
 */
describe.each<RecordStep>(['workspace-rolled-up', 'released'])('a crash after step "%s"', (step) => {
  it('is finished by the next instance, counting the event once', async () => {
    const database = uniqueName('usage_crash');
    const durable = uniqueName('crash').replaceAll('_', '-');
    const { org, ws } = tenant();
    const event = usageEvent(org, ws, 'chunks_stored', 42);
    let first: Harness | undefined;
    let crashed = false;
    first = await startUsage({
      database,
      durable,
      ackWaitMs: 1_000,
      hooks: {
        async afterStep(at, seen) {
          if (at !== step || seen.event_id !== event.event_id || crashed || !first) return;
          crashed = true;
          await first.nc.close();
          throw new Error('process died');
        },
      },
    });
    await first.publish(event);
    await expect.poll(() => crashed, { timeout: 20_000 }).toBe(true);
    await first.stop({ keepData: true }).catch(() => undefined);

    const second = await startUsage({ database, durable, ackWaitMs: 1_000, purge: false });
    try {
      await second.settled();
      const report = await second.request('usage.report.get', reader(org, ws), {});
      expect(report.items.map((item) => [item.metric, item.value])).toEqual([['chunks_stored', 42]]);
      const quotas = await second.request('usage.quotas.get', reader(org, ws), {});
      expect(quotas.items.find((item) => item.metric === 'chunks')?.used).toBe(42);
      const stored = await second.service.stores.events.in({ org_id: org, workspace_id: ws }).find();
      expect(stored.map((doc) => doc.state)).toEqual(['counted']);
    } finally {
      await second.stop();
    }
  });
});
