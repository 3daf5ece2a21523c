import type { Handler } from '@kb/bus';
import type { OperationName } from '@kb/contracts';
import type { Activity } from '../domain/activity.js';
import type { Quotas } from '../domain/quotas.js';
import type { UsageStores } from '../store/index.js';

/** What the usage service's handlers are built from. */
export interface HandlerDeps {
  stores: UsageStores;
  quotas: Quotas;
  activity: Activity;
  now: () => Date;
}

/** A handler map over usage operations, so a missing handler fails to compile. */
export type UsageOperation = Extract<OperationName, `usage.${string}`>;
export type UsageHandlers<K extends UsageOperation = UsageOperation> = { [P in K]: Handler<P> };
