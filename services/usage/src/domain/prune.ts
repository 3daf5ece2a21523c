import type { Logger } from '@kb/log';
import { unscoped } from '@kb/store';
import type { UsageStores } from '../store/index.js';
import type { Activity } from './activity.js';
import { EVENT_MEMORY_S } from './counters.js';

const REASON = 'prune finished usage batches of every tenant, and their events, by age';
/** Batches forgotten per round. */
const PAGE = 500;

/**
 * Forgets received events once the stream can no longer redeliver them (FerretDB has no TTL indexes), with
 * their batches. Only finished ones: the events of a batch not yet counted are kept so a late redelivery
 * can finish it.
 */
export function createPruner(stores: UsageStores, activity: Activity, log: Logger, intervalMs = 3_600_000) {
  async function prune(): Promise<void> {
    const before = new Date(Date.now() - EVENT_MEMORY_S * 1000);
    let deleted = 0;
    for (;;) {
      const finished = await unscoped(
        REASON,
        stores.batches.model
          .find({ state: { $in: ['counted', 'void'] }, created_at: { $lt: before } }, { _id: 1 })
          .limit(PAGE)
          .lean<{ _id: string }[]>(),
      ).exec();
      if (finished.length === 0) break;
      const ids = finished.map((batch) => batch._id);
      const events = await unscoped(REASON, stores.events.model.deleteMany({ batch: { $in: ids } })).exec();
      await unscoped(REASON, stores.batches.model.deleteMany({ _id: { $in: ids } })).exec();
      deleted += events.deletedCount;
      if (finished.length < PAGE) break;
    }
    if (deleted > 0) log.info({ deleted }, 'pruned applied usage events');
  }
  const timer = setInterval(() => {
    prune().catch((error: unknown) => log.warn({ err: error }, 'pruning usage events failed'));
    activity.prune().catch((error: unknown) => log.warn({ err: error }, 'pruning activity failed'));
  }, intervalMs);
  timer.unref();
  return { prune, stop: () => clearInterval(timer) };
}
