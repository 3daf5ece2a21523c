import type { Caller, Requester } from '@kb/bus';
import type { QuotaMetric } from '@kb/contracts';
import { isAppError } from '@kb/errors';
import type { Logger } from '@kb/log';

export interface QuotaChecker {
  /**
   * Resolves when `amount` more of `metric` fits the caller's workspace quota (and its organization's plan);
   * throws AppError('quota-exceeded', 429) with `retryAfter` (seconds until the month resets for monthly
   * quotas; an hour for lifetime ones) when it does not. Any key of the workspace may be checked: the check
   * needs no `usage:read` scope. For an upload: `documents` 1 and `storage_bytes` its size; for a search:
   * `searches_per_month` 1. `log`: where a check the usage service could not answer is logged (the
   * request's logger, with its request and trace ids; default the gateway's).
   */
  assertAvailable(
    caller: Caller,
    metric: QuotaMetric,
    amount?: number,
    log?: Pick<Logger, 'warn'>,
  ): Promise<void>;
}

/**
 * Quota checks against the usage service (`usage.quota.check`). Counts reach the usage service
 * asynchronously, so a quota is enforced to within the work accepted in the last second or so. When the
 * usage service does not answer in time, or fails, the work is let through (and logged): metering must not
 * take ingestion or search down.
 */
export function createQuotaChecker(
  request: Requester,
  log: Logger,
  timeoutMs = 1_000,
  holdMs = 1_000,
): QuotaChecker {
  // Room the usage service last reported per workspace and metric, spent locally for up to `holdMs`: a burst
  // costs one round trip a second instead of one per request, within the stated one-second tolerance.
  const room = new Map<string, { remaining: number; until: number }>();
  return {
    async assertAvailable(caller, metric, amount = 1, requestLog = log) {
      const key = `${caller.context.org}:${caller.context.ws}:${metric}`;
      const held = room.get(key);
      if (held && held.until > Date.now() && held.remaining >= amount) {
        held.remaining -= amount;
        return;
      }
      try {
        const reply = await request('usage.quota.check', caller, { metric, amount }, { timeoutMs });
        room.set(key, { remaining: Math.max(0, reply.remaining - amount), until: Date.now() + holdMs });
        if (room.size > 10_000) room.delete(room.keys().next().value as string);
      } catch (error) {
        room.delete(key);
        // A refusal (quota exceeded, a bad request) stands; the usage service failing (timeout, its Redis or
        // MongoDB restarting: any 5xx or transport error) lets the work through, as documented.
        if (isAppError(error) && error.status < 500) throw error;
        requestLog.warn(
          { err: error, metric, org_id: caller.context.org },
          'quota not checked: usage service unavailable',
        );
      }
    },
  };
}
