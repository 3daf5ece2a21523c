import { consumeDurable, type NatsConnection, type RunningConsumer } from '@kb/bus';
import {
  IngestRequested,
  ingestRequestedVersion,
  STREAMS,
  tenantWildcard,
  WorkspaceDeleted,
} from '@kb/contracts';
import type { Logger } from '@kb/log';
import type { ContextVerifier } from '@kb/tenancy';
import { acceptedTask, isUnderWay } from '../queue/accepted.js';
import type { FairQueue } from '../queue/fair.js';
import type { Queues } from '../queue/queues.js';
import { type IngestionStores, scopeOf } from '../store/documents.js';

export interface ConsumerDeps {
  stores: IngestionStores;
  fair: FairQueue;
  queues: Queues;
  verifier: ContextVerifier;
  log: Logger;
  /** Called after a task was queued. */
  onQueued?: () => void;
  /** Durable names (tests use their own). */
  durablePrefix?: string;
}

/**
 * `ingest.requested` (KB_INGEST) → the document's current version into the fair queue, unless it is on its
 * way already (the request that recorded it queued it, unless Redis failed it then). The record exists
 * already (the gateway had it created before publishing); a message for a document deleted meanwhile is
 * acknowledged and dropped. Enqueueing is idempotent, so redeliveries add nothing. Failures (Redis
 * restarting) are redelivered with backoff for about ten minutes; the sweeper covers anything longer.
 */
export function consumeIngestRequests(nc: NatsConnection, deps: ConsumerDeps): Promise<RunningConsumer> {
  return consumeDurable(nc, {
    stream: STREAMS.ingest,
    durable: `${deps.durablePrefix ?? ''}ingestion`,
    filterSubject: tenantWildcard('ingest.requested'),
    schema: IngestRequested,
    scope: 'documents:write',
    verifier: deps.verifier,
    log: deps.log,
    maxDeliver: 40,
    backoffMs: [500, 1_000, 2_000, 5_000, 10_000, 20_000],
    ackWaitMs: 30_000,
    concurrency: 16,
    async handler(body, { tenant, log }) {
      // Usually the upload's own request queued the version already (handlers/create.ts): when the event
      // names its version, that is checked in Redis before the record is read.
      const version = ingestRequestedVersion(body.event_id, body.document_id);
      if (version !== null) {
        const named = {
          org: tenant.org,
          ws: tenant.ws,
          documentId: body.document_id,
          version,
          enqueuedAt: 0,
        };
        if (await isUnderWay(deps.fair, deps.queues, named)) return;
      }
      const record = await deps.stores.documents.in(scopeOf(tenant)).findOne({ _id: body.document_id });
      if (!record) {
        log.info({ document_id: body.document_id }, 'ingest request for a document that no longer exists');
        return;
      }
      if (record.status !== 'queued') return;
      const task = acceptedTask(record, tenant.rid);
      // The named version was found not under way above; another one (the record moved on) is looked up.
      // Enqueueing is idempotent, so a version queued meanwhile is not queued twice.
      if (task.version !== version && (await isUnderWay(deps.fair, deps.queues, task))) return;
      await deps.fair.enqueue(task);
      deps.onQueued?.();
    },
  });
}

/**
 * `evt.workspace.deleted` (KB_EVENTS, from the tenant service) → purge the workspace now and once more a
 * minute later, for work that was in flight during the first pass.
 */
export function consumeWorkspaceDeletions(nc: NatsConnection, deps: ConsumerDeps): Promise<RunningConsumer> {
  return consumeDurable(nc, {
    stream: STREAMS.events,
    durable: `${deps.durablePrefix ?? ''}ingestion-workspace-deleted`,
    filterSubject: tenantWildcard('evt.workspace.deleted'),
    schema: WorkspaceDeleted,
    scope: 'org:admin',
    verifier: deps.verifier,
    log: deps.log,
    maxDeliver: 40,
    backoffMs: [1_000, 5_000, 15_000, 30_000],
    async handler(_body, { tenant }) {
      const job = { kind: 'purge-workspace' as const, org: tenant.org, ws: tenant.ws };
      await deps.queues.addMaintenance(job);
      await deps.queues.addMaintenance(job, { delayMs: 60_000, suffix: '-again' });
    },
  });
}
