import { consumeDurable, type NatsConnection, type RunningConsumer } from '@kb/bus';
import { DocumentEvent, IngestRequested, STREAMS, tenantWildcard } from '@kb/contracts';
import type { Logger } from '@kb/log';
import type { ContextVerifier, TenantContext } from '@kb/tenancy';
import type { JsMsg } from '@nats-io/jetstream';
import type { Activity, Origin } from '../domain/activity.js';
import type { HandlerDeps, UsageHandlers } from './deps.js';

export function activityHandlers({ activity }: HandlerDeps): UsageHandlers<'usage.activity.list'> {
  return {
    async 'usage.activity.list'(request, { tenant }) {
      return activity.list(tenant.org, request);
    },
  };
}

export const ACTIVITY_DURABLES = { accepted: 'usage-activity-accepted', settled: 'usage-activity-settled' };

/** The trace a message belongs to (its `traceparent`) and the request id of its signed context. */
export function originOf(msg: JsMsg, tenant: TenantContext): Origin {
  const traceparent = msg.headers?.get('traceparent') ?? '';
  const traceId = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(traceparent)?.[1] ?? null;
  return { traceId: traceId && !/^0+$/.test(traceId) ? traceId : null, requestId: tenant.rid };
}

/**
 * Ingestion jobs for the activity list: `ingest.requested` (KB_INGEST) starts one, `evt.document.*`
 * (KB_EVENTS) ends it. Both streams keep their messages for every consumer; these durables only read.
 */
export async function startActivityConsumers(
  nc: NatsConnection,
  options: {
    activity: Activity;
    verifier: ContextVerifier;
    log: Logger;
    durablePrefix?: string;
    /** How long a delivered message may go unacknowledged before it is delivered again (default 30 s). */
    ackWaitMs?: number;
  },
): Promise<RunningConsumer[]> {
  const prefix = options.durablePrefix ?? '';
  const common = {
    verifier: options.verifier,
    log: options.log,
    scope: null,
    maxDeliver: 20,
    ...(options.ackWaitMs ? { ackWaitMs: options.ackWaitMs } : {}),
  } as const;
  return Promise.all([
    consumeDurable(nc, {
      ...common,
      stream: STREAMS.ingest,
      durable: `${prefix}${ACTIVITY_DURABLES.accepted}`,
      filterSubject: tenantWildcard('ingest.requested'),
      schema: IngestRequested,
      handler: (event, { tenant, msg }) => options.activity.accepted(event, originOf(msg, tenant)),
    }),
    consumeDurable(nc, {
      ...common,
      stream: STREAMS.events,
      durable: `${prefix}${ACTIVITY_DURABLES.settled}`,
      filterSubject: `${tenantWildcard('evt.document')}.*`,
      schema: DocumentEvent,
      handler: (event, { tenant, msg }) => options.activity.settled(event, originOf(msg, tenant)),
    }),
  ]);
}
