import type { Connection } from 'mongoose';
import { activityModel } from './activity.js';
import { batchesModel } from './batches.js';
import { eventsModel } from './events.js';
import { rollupsModel } from './rollups.js';
import { warningsModel } from './warnings.js';

export type { ActivityDoc } from './activity.js';
export type { BatchDoc, BatchEvent } from './batches.js';
export type { EventDoc } from './events.js';
export type { RollupDoc } from './rollups.js';
export type { WarningDoc } from './warnings.js';

export type UsageStores = Awaited<ReturnType<typeof createStores>>;

/** The usage service's collections, with their indexes built before the first event. */
export async function createStores(connection: Connection) {
  const stores = {
    events: eventsModel(connection),
    batches: batchesModel(connection),
    rollups: rollupsModel(connection),
    warnings: warningsModel(connection),
    activity: activityModel(connection),
  };
  await Promise.all(Object.values(stores).map((store) => store.model.init()));
  return stores;
}

/** A write refused by a unique index (MongoDB and FerretDB both answer code 11000). */
export function isDuplicateKey(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === 11000;
}
