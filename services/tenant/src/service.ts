import { type NatsConnection, type RefusalRecorder, type ServedService, serveOperations } from '@kb/bus';
import type { Logger } from '@kb/log';
import { statusHandler } from '@kb/runtime';
import type { ContextSigner, ContextVerifier } from '@kb/tenancy';
import type { Connection } from 'mongoose';
import { type AuditLog, createAuditLog } from './domain/audit-log.js';
import { ensureDecoys } from './domain/decoys.js';
import { createLastUsedRecorder, type LastUsedRecorder } from './domain/last-used.js';
import { createRevocations } from './domain/revocations.js';
import { createWorkspaceEvents } from './domain/workspace-events.js';
import { auditHandlers } from './handlers/audit.js';
import type { HandlerDeps, TenantHandlers } from './handlers/deps.js';
import { keyHandlers } from './handlers/keys.js';
import { orgHandlers } from './handlers/orgs.js';
import { verifyHandlers } from './handlers/verify.js';
import { workspaceHandlers } from './handlers/workspaces.js';
import { createStores, type TenantStores } from './store/index.js';

export interface TenantDeps {
  nc: NatsConnection;
  mongo: Connection;
  log: Logger;
  verifier: ContextVerifier;
  /** Signs the contexts of the events the service publishes. */
  signer: ContextSigner;
  version: string;
  instance: string;
  keyHashSecret: string;
  /** How often key use is written (one write for every key used since); default 1 s. */
  lastUsedFlushMs?: number;
  /** Where refusals go; by default into this service's audit log. */
  onRefused?: RefusalRecorder;
}

export interface TenantService {
  served: ServedService;
  stores: TenantStores;
  audit: AuditLog;
  lastUsed: LastUsedRecorder;
  /** Stops taking requests (shutdown phase `intake`). */
  stop(): Promise<void>;
  /** Writes the pending key-use batch; run before MongoDB closes. */
  close(): Promise<void>;
}

/** Builds the tenant service's NATS endpoints from its dependencies; `main.ts` wires the real ones. */
export async function buildTenantService(deps: TenantDeps): Promise<TenantService> {
  const stores = await createStores(deps.mongo);
  await ensureDecoys(stores);
  const audit = createAuditLog(stores, deps.log);
  const lastUsed = createLastUsedRecorder(
    async (keyIds, at) => {
      await stores.keys
        .unscoped('record key use in batches across tenants')
        .updateMany({ _id: { $in: keyIds } }, { $set: { last_used_at: at } });
    },
    { log: deps.log, ...(deps.lastUsedFlushMs ? { intervalMs: deps.lastUsedFlushMs } : {}) },
  );
  const handlerDeps: HandlerDeps = {
    stores,
    audit,
    revocations: createRevocations(deps.nc, deps.log),
    workspaceEvents: createWorkspaceEvents(deps.nc, deps.signer),
    lastUsed,
    keyHashSecret: deps.keyHashSecret,
    log: deps.log,
  };
  // Every catalog operation of the tenant service, or this does not compile.
  const handlers: TenantHandlers = {
    'tenant.status': statusHandler('tenant', deps.version, deps.instance),
    ...orgHandlers(handlerDeps),
    ...workspaceHandlers(handlerDeps),
    ...keyHandlers(handlerDeps),
    ...verifyHandlers(handlerDeps),
    ...auditHandlers(handlerDeps),
  };
  const served = await serveOperations(deps.nc, {
    name: 'tenant',
    version: deps.version,
    description: 'organizations, workspaces, API keys and plans',
    instance: deps.instance,
    verifier: deps.verifier,
    log: deps.log,
    onRefused: deps.onRefused ?? ((refusal) => void audit.refused(refusal)),
    handlers,
  });
  return {
    served,
    stores,
    audit,
    lastUsed,
    stop: () => served.stop(),
    close: () => lastUsed.stop(),
  };
}
