import { metrics, type ObservableResult } from '@opentelemetry/api';
import type { FairQueue } from './fair.js';
import type { Queues } from './queues.js';

const STATES = ['waiting', 'prioritized', 'delayed', 'active', 'failed'] as const;

/**
 * Queue depth as a gauge observed at each scrape, `kb.queue.depth` {queue, state}: tasks waiting their turn in
 * the fair queue (`fair`), and BullMQ jobs of the `ingest` and `maintenance` queues by state. Per-tenant depth
 * is not a label (the number of tenants is unbounded); the fair queue's rings hold it for an operator.
 * Returns a function that stops observing.
 */
export function observeQueueDepth(queues: Queues, fair: FairQueue): () => void {
  const depth = metrics.getMeter('@kb/ingestion').createObservableGauge('kb.queue.depth', {
    description: 'Ingestion work waiting or under way, by queue and state',
  });
  const observe = async (result: ObservableResult) => {
    const [waiting, ingest, maintenance] = await Promise.all([
      fair.waiting(),
      queues.ingest.getJobCounts(...STATES),
      queues.maintenance.getJobCounts(...STATES),
    ]).catch(() => [null, null, null] as const);
    if (waiting !== null) result.observe(waiting, { queue: 'fair', state: 'waiting' });
    for (const [queue, counts] of [
      ['ingest', ingest],
      ['maintenance', maintenance],
    ] as const) {
      for (const state of STATES) if (counts) result.observe(counts[state] ?? 0, { queue, state });
    }
  };
  depth.addCallback(observe);
  return () => depth.removeCallback(observe);
}
