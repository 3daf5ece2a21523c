import type { Handler } from '@kb/bus';
import type { OperationName } from '@kb/contracts';
import type { Logger } from '@kb/log';
import type { AuditLog } from '../domain/audit-log.js';
import type { LastUsedRecorder } from '../domain/last-used.js';
import type { Revocations } from '../domain/revocations.js';
import type { WorkspaceEvents } from '../domain/workspace-events.js';
import type { TenantStores } from '../store/index.js';

/** What every handler group is built from. */
export interface HandlerDeps {
  stores: TenantStores;
  audit: AuditLog;
  revocations: Revocations;
  /** `evt.workspace.deleted`, which the ingestion service purges the workspace's data on. */
  workspaceEvents: WorkspaceEvents;
  lastUsed: LastUsedRecorder;
  /** KB_KEY_HASH_SECRET: keys are stored and looked up only as HMACs under it. */
  keyHashSecret: string;
  log: Logger;
}

/**
 * The tenant's catalog operations and a handler map over them, so a missing handler fails to compile.
 * (Keyed by operation name: `Handlers<'tenant'>` from @kb/bus is `{}` while the catalog's `define()` widens
 * each spec's `service` to `ServiceName`.)
 */
export type TenantOperation = Extract<OperationName, `tenant.${string}`>;
export type TenantHandlers<K extends TenantOperation = TenantOperation> = { [P in K]: Handler<P> };
