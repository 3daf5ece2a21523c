import type { Logger } from '@kb/log';
import { unscoped } from '@kb/store';
import type { UsageStores } from '../store/index.js';
import type { Activity } from './activity.js';
import { EVENT_MEMORY_S } from './counters.js';

/**
 * Forgets received events once the stream can no longer redeliver them (FerretDB has no TTL indexes).
 * Only fully applied ones: an event still `pending` is kept so a late redelivery can finish it.
 */
export function createPruner(stores: UsageStores, activity: Activity, log: Logger, intervalMs = 3_600_000) {
  async function prune(): Promise<void> {
    const before = new Date(Date.now() - EVENT_MEMORY_S * 1000);
    const query = stores.events.model.deleteMany({
      received_at: { $lt: before },
      state: { $in: ['rolled-up', 'counted'] },
    });
    const { deletedCount } = await unscoped(
      'prune applied usage events of every tenant by age',
      query,
    ).exec();
    if (deletedCount > 0) log.info({ deleted: deletedCount }, 'pruned applied usage events');
  }
  const timer = setInterval(() => {
    prune().catch((error: unknown) => log.warn({ err: error }, 'pruning usage events failed'));
    activity.prune().catch((error: unknown) => log.warn({ err: error }, 'pruning activity failed'));
  }, intervalMs);
  timer.unref();
  return { prune, stop: () => clearInterval(timer) };
}
