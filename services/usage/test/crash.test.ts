import { uniqueName } from '@kb/testing';
import { describe, expect, it } from 'vitest';
import type { RecordStep } from '../src/domain/recorder.js';
import { type Harness, reader, stage, startUsage, tenant, usageEvent } from './helpers.js';

/*
 * A process that dies mid-event (its connection gone, nothing acknowledged) and another instance of the
 * service that takes over the same durable consumer and database: the event is redelivered after the ack
 * wait and must count once. Each step has its own bound, well inside the test's, so a stall names its step.
 */
const STEPS: RecordStep[] = ['stored', 'workspace-rolled-up', 'released'];

describe.each(STEPS)('a crash after step "%s"', (step) => {
  it('is finished by the next instance, counting the event once', { timeout: 120_000 }, async () => {
    const database = uniqueName('usage_crash');
    const durable = uniqueName('crash').replaceAll('_', '-');
    const { org, ws } = tenant();
    const event = usageEvent(org, ws, 'chunks_stored', 42);
    let first: Harness | undefined;
    let died: () => void = () => {};
    const crashed = new Promise<void>((resolve) => {
      died = resolve;
    });
    let dying = false;
    first = await stage(
      'starting the first instance',
      20_000,
      startUsage({
        database,
        durable,
        ackWaitMs: 1_000,
        hooks: {
          async afterStep(at, seen) {
            if (at !== step || seen.event_id !== event.event_id || dying || !first) return;
            dying = true;
            await first.nc.close();
            died();
            throw new Error('process died');
          },
        },
      }),
    );
    await first.publish(event);
    await stage(`the first instance reaching "${step}"`, 20_000, crashed);
    await stage(
      'cleaning up the dead instance',
      15_000,
      first.stop({ keepData: true }).catch(() => undefined),
    );

    const second = await stage(
      'starting the second instance',
      20_000,
      startUsage({ database, durable, ackWaitMs: 1_000, purge: false }),
    );
    try {
      await stage('the second instance finishing the event', 25_000, second.settled(20_000));
      const report = await second.request('usage.report.get', reader(org, ws), {});
      expect(report.items.map((item) => [item.metric, item.value])).toEqual([['chunks_stored', 42]]);
      const quotas = await second.request('usage.quotas.get', reader(org, ws), {});
      expect(quotas.items.find((item) => item.metric === 'chunks')?.used).toBe(42);
      const stored = await second.service.stores.events.in({ org_id: org, workspace_id: ws }).find();
      expect(stored).toHaveLength(1);
      const batches = second.service.stores.batches.in({ org_id: org });
      expect((await batches.findOne({ _id: stored[0]?.batch }))?.state).toBe('counted');
    } finally {
      await second.stop();
    }
  });
});
