import { randomUUID } from 'node:crypto';
import { createPublisher, type NatsConnection } from '@kb/bus';
import { ACTIVITY_PER_EVENT_MAX, meteringSubject, type RequestActivity, UsageEvent } from '@kb/contracts';
import type { Logger } from '@kb/log';
import type { ContextSigner, TenantContext } from '@kb/tenancy';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { routeInfo } from '../plugins/route.js';
import { isExempt } from './rate-limit.js';

/** Publishes one usage event (JetStream, `Nats-Msg-Id` = `event_id`) on behalf of the workspace's plan. */
export type PublishUsage = (event: UsageEvent, plan: string) => Promise<void>;

export function busPublisher(nc: NatsConnection, signer: ContextSigner): PublishUsage {
  const publisher = createPublisher(nc);
  return async (event, plan) => {
    const context: TenantContext = {
      org: event.org_id,
      ws: event.workspace_id,
      kid: 'gateway',
      scopes: [],
      plan,
      rid: event.event_id,
    };
    const tenant = { org: event.org_id, ws: event.workspace_id };
    const caller = { context, token: signer.sign(context) };
    await publisher.publish(meteringSubject(tenant, event.metric), UsageEvent, event, caller, event.event_id);
  };
}

export interface ApiCallMeter {
  /**
   * Counts one API call of the workspace (unless `charged` is false: refused with 429) and keeps its
   * `activity` for the operator; never blocks or fails the request.
   */
  record(org: string, ws: string, plan: string, activity?: RequestActivity, charged?: boolean): void;
  /** Publishes what has been counted (and retries what could not be published before). */
  flush(): Promise<void>;
  /** Stops the timer and publishes the rest, once. */
  stop(): Promise<void>;
  /** Events counted or built but not yet acknowledged by JetStream. */
  backlog(): number;
}

interface Batch {
  event: UsageEvent;
  plan: string;
}

/**
 * `api_calls` metering off the request path: calls are counted in memory per workspace and published as one
 * event per workspace every `intervalMs`, describing up to ACTIVITY_PER_EVENT_MAX of the requests (see
 * `keepActivity`). An event that JetStream did not acknowledge is retried later with
 * the same id, so a publication whose acknowledgement was lost still counts once. At most `maxBacklog`
 * events wait; beyond that the oldest are dropped (and logged), so a long NATS outage cannot exhaust memory.
 */
export function createApiCallMeter(options: {
  publish: PublishUsage;
  log: Logger;
  intervalMs?: number;
  maxBacklog?: number;
}): ApiCallMeter {
  const { log } = options;
  const maxBacklog = options.maxBacklog ?? 10_000;
  const counting = new Map<
    string,
    { org: string; ws: string; plan: string; calls: number; since: Date; activity: RequestActivity[] }
  >();
  let unsent: Batch[] = [];
  let running: Promise<void> | undefined;
  let stopped: Promise<void> | undefined;

  function seal(): void {
    for (const { org, ws, plan, calls, since, activity } of counting.values()) {
      unsent.push({
        plan,
        event: {
          v: 1,
          event_id: `api-calls:${randomUUID()}`,
          org_id: org,
          workspace_id: ws,
          occurred_at: since.toISOString(),
          metric: 'api_calls',
          value: calls,
          ...(activity.length > 0 ? { activity } : {}),
        },
      });
    }
    counting.clear();
    if (unsent.length > maxBacklog) {
      const dropped = unsent.splice(0, unsent.length - maxBacklog);
      log.error({ dropped: dropped.length }, 'api call metering backlog full; oldest events dropped');
    }
  }

  async function publishAll(): Promise<void> {
    seal();
    const batch = unsent;
    unsent = [];
    const failed: Batch[] = [];
    await Promise.all(
      batch.map(async (item) => {
        try {
          await options.publish(item.event, item.plan);
        } catch (error) {
          failed.push(item);
          log.warn(
            { err: error, event_id: item.event.event_id },
            'api call metering not published; will retry',
          );
        }
      }),
    );
    unsent = [...failed, ...unsent];
  }

  function flush(): Promise<void> {
    running ??= publishAll().finally(() => {
      running = undefined;
    });
    return running;
  }

  const timer = setInterval(() => void flush(), options.intervalMs ?? 1_000);
  timer.unref();

  return {
    record(org, ws, plan, activity, charged = true) {
      const key = `${org}.${ws}`;
      let entry = counting.get(key);
      if (!entry) {
        entry = { org, ws, plan, calls: 0, since: new Date(), activity: [] };
        counting.set(key, entry);
      }
      if (charged) entry.calls += 1;
      if (activity) keepActivity(entry.activity, activity);
    },
    flush,
    stop() {
      stopped ??= (async () => {
        clearInterval(timer);
        await running;
        await flush();
      })();
      return stopped;
    },
    backlog: () => unsent.length + counting.size,
  };
}

/**
 * Adds a request to a batch's activity: past the limit, a success gives way to the newer request, while
 * failures (status ≥ 400, what operators look for) are kept before successes.
 */
export function keepActivity(kept: RequestActivity[], request: RequestActivity): void {
  if (kept.length < ACTIVITY_PER_EVENT_MAX) {
    kept.push(request);
    return;
  }
  const success = kept.findIndex((entry) => entry.status < 400);
  if (success >= 0) kept.splice(success, 1);
  else if (request.status < 400) return;
  else kept.shift();
  kept.push(request);
}

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** What the operator's activity list shows of a request: route, status, duration and the trace it answered with. */
export function requestActivity(request: FastifyRequest, reply: FastifyReply): RequestActivity {
  const traceparent = reply.getHeader('traceparent');
  const traceId = typeof traceparent === 'string' ? (TRACEPARENT.exec(traceparent)?.[1] ?? null) : null;
  const elapsed = reply.elapsedTime;
  return {
    at: new Date(Date.now() - elapsed).toISOString(),
    route: `${request.method} ${routeInfo(request).url}`.slice(0, 256),
    status: reply.statusCode,
    duration_ms: Math.round(elapsed * 1000) / 1000,
    trace_id: traceId && !/^0+$/.test(traceId) ? traceId : null,
    request_id: request.id.slice(0, 128),
  };
}

/**
 * Meters every authenticated request of a workspace key or search token after its answer (requests refused
 * with 429 are not charged, but appear in the activity), and publishes what is left when the server closes.
 */
export function registerMetering(app: FastifyInstance, meter: ApiCallMeter): void {
  app.addHook('onResponse', (request, reply, done) => {
    const principal = request.principal;
    if (principal && 'ws' in principal && !isExempt(request)) {
      const charged = reply.statusCode !== 429;
      meter.record(principal.org, principal.ws, principal.plan, requestActivity(request, reply), charged);
    }
    done();
  });
  app.addHook('onClose', () => meter.stop());
}
