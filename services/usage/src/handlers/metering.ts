import { consumeDurable, type NatsConnection, type RunningConsumer } from '@kb/bus';
import { meteringMetricOf, STREAMS, UsageEvent } from '@kb/contracts';
import { invalid } from '@kb/errors';
import type { Logger } from '@kb/log';
import type { ContextVerifier } from '@kb/tenancy';
import type { Activity } from '../domain/activity.js';
import type { Recorder } from '../domain/recorder.js';
import type { QuotaWarnings } from '../domain/warnings.js';

export interface MeteringConsumerOptions {
  recorder: Recorder;
  activity: Activity;
  warnings: QuotaWarnings;
  verifier: ContextVerifier;
  log: Logger;
  /** The durable consumer's name; the platform's unless a test needs its own. */
  durable?: string;
  ackWaitMs?: number;
  backoffMs?: number[];
}

export const METERING_DURABLE = 'usage-metering';

/**
 * Consumes `KB_USAGE` (`kb.<org>.<ws>.metering.<metric>`, see `meteringSubject`) durably. The tenant is the verified context's;
 * an event whose body names another tenant (consumeDurable refuses it) or another metric than its subject
 * is dead-lettered, so one tenant's publisher cannot charge or credit another. Failures (MongoDB or Redis away) are retried for
 * several minutes before the event is dead-lettered, where it can be replayed.
 */
export function startMeteringConsumer(
  nc: NatsConnection,
  options: MeteringConsumerOptions,
): Promise<RunningConsumer> {
  return consumeDurable(nc, {
    stream: STREAMS.usage,
    durable: options.durable ?? METERING_DURABLE,
    schema: UsageEvent,
    scope: null,
    verifier: options.verifier,
    log: options.log,
    maxDeliver: 20,
    // Events delivered together are recorded together (domain/recorder.ts): the more in flight, the fewer
    // writes per event.
    concurrency: 64,
    backoffMs: options.backoffMs ?? [1_000, 5_000, 15_000, 60_000],
    ...(options.ackWaitMs ? { ackWaitMs: options.ackWaitMs } : {}),
    async handler(event, { msg, log }) {
      if (meteringMetricOf(msg.subject) !== event.metric) {
        throw invalid(`usage event for ${event.metric} arrived on ${msg.subject}`);
      }
      if (!Number.isSafeInteger(event.value)) throw invalid('usage event value must be an integer');
      if (event.activity && event.metric !== 'api_calls')
        throw invalid('only api_calls events carry activity');
      // An event of value 0 only describes requests that were refused (429) and not charged.
      if (event.value !== 0) {
        const outcome = await options.recorder.record(event);
        if (outcome !== 'recorded') log.info({ event_id: event.event_id, outcome }, 'usage event seen again');
      }
      await options.activity.requests(event);
      if (event.value > 0) {
        // Best effort: a warning missed now is published with the next event that finds the quota crossed.
        await options.warnings
          .check(event.org_id, event.workspace_id, event.metric)
          .catch((error: unknown) => log.warn({ err: error }, 'quota warnings not checked'));
      }
    },
  });
}
