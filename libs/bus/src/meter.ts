import { randomUUID } from 'node:crypto';
import {
  ACTIVITY_PER_EVENT_MAX,
  meteringSubject,
  type RequestActivity,
  UsageEvent,
  type UsageMetric,
} from '@kb/contracts';
import type { Logger } from '@kb/log';
import type { ContextSigner, TenantContext } from '@kb/tenancy';
import type { NatsConnection } from './connect.js';
import { createPublisher } from './jetstream.js';

/** Publishes one usage event (JetStream, `Nats-Msg-Id` = `event_id`) on behalf of the workspace's plan. */
export type PublishUsage = (event: UsageEvent, plan: string) => Promise<void>;

/** Usage events published over `nc`, each under a context signed for its workspace by service `kid`. */
export function busUsagePublisher(nc: NatsConnection, signer: ContextSigner, kid: string): PublishUsage {
  const publisher = createPublisher(nc);
  return async (event, plan) => {
    const context: TenantContext = {
      org: event.org_id,
      ws: event.workspace_id,
      kid,
      scopes: [],
      plan,
      rid: event.event_id,
    };
    const tenant = { org: event.org_id, ws: event.workspace_id };
    const caller = { context, token: signer.sign(context) };
    await publisher.publish(meteringSubject(tenant, event.metric), UsageEvent, event, caller, event.event_id);
  };
}

export interface UsageMeter {
  /**
   * Adds `value` to the workspace's count (0 counts nothing but still publishes an event, e.g. to describe
   * requests that were refused) and keeps `activity` for the operator (`api_calls` only); never blocks or fails.
   */
  record(org: string, ws: string, plan: string, value: number, activity?: RequestActivity): void;
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

/**
 * Metering of frequent work off its path (the gateway's API calls, the search service's searches): counted
 * in memory per workspace and published as one `metric` event per workspace every `intervalMs`, so the
 * usage service sees a few events a second per active workspace however busy it is. An event that
 * JetStream did not acknowledge is retried later with the same id, so a publication whose acknowledgement
 * was lost still counts once. At most `maxBacklog` events wait; beyond that the oldest are dropped (and
 * logged), so a long NATS outage cannot exhaust memory. What was counted since the last publication is
 * lost if the process is killed; `stop` publishes it on a clean shutdown.
 */
export function createUsageMeter(options: {
  metric: UsageMetric;
  publish: PublishUsage;
  log: Logger;
  intervalMs?: number;
  maxBacklog?: number;
}): UsageMeter {
  const { log, metric } = options;
  const maxBacklog = options.maxBacklog ?? 10_000;
  const idPrefix = metric.replaceAll('_', '-');
  const counting = new Map<
    string,
    { org: string; ws: string; plan: string; value: number; since: Date; activity: RequestActivity[] }
  >();
  let unsent: Batch[] = [];
  let running: Promise<void> | undefined;
  let stopped: Promise<void> | undefined;

  function seal(): void {
    for (const { org, ws, plan, value, since, activity } of counting.values()) {
      unsent.push({
        plan,
        event: {
          v: 1,
          event_id: `${idPrefix}:${randomUUID()}`,
          org_id: org,
          workspace_id: ws,
          occurred_at: since.toISOString(),
          metric,
          value,
          ...(activity.length > 0 ? { activity } : {}),
        },
      });
    }
    counting.clear();
    if (unsent.length > maxBacklog) {
      const dropped = unsent.splice(0, unsent.length - maxBacklog);
      log.error({ dropped: dropped.length, metric }, 'metering backlog full; oldest events dropped');
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
            { err: error, event_id: item.event.event_id, metric },
            'usage event not published; will retry',
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
    record(org, ws, plan, value, activity) {
      const key = `${org}.${ws}`;
      let entry = counting.get(key);
      if (!entry) {
        entry = { org, ws, plan, value: 0, since: new Date(), activity: [] };
        counting.set(key, entry);
      }
      entry.value += value;
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
