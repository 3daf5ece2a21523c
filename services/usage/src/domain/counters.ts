import type { UsageMetric } from '@kb/contracts';
import type { Redis } from 'ioredis';
import { monthKey, startOfNextMonth } from './periods.js';

/**
 * Live usage counters in Redis, read by quota checks: per workspace and per organization, one counter per
 * metric for the whole lifetime (gauges such as documents go down again with negative deltas) and one per
 * calendar month. Every key of an organization shares its hash tag, so the script below stays on one slot
 * of a Redis cluster.
 */

/** A counter's owner: a workspace, or (`ws` null) the whole organization. */
export interface CounterScope {
  org: string;
  ws: string | null;
}

export type CounterPeriod = { kind: 'lifetime' } | { kind: 'month'; at: Date };

const prefix = ({ org, ws }: CounterScope) => `kb:usage:{${org}}:${ws ?? '_'}`;

export function counterKey(scope: CounterScope, metric: UsageMetric, period: CounterPeriod): string {
  const when = period.kind === 'lifetime' ? 'all' : `m${monthKey(period.at)}`;
  return `${prefix(scope)}:${when}:${metric}`;
}

/** How long a monthly counter outlives its month (reports come from MongoDB; this only serves quotas). */
const MONTH_KEPT_S = 35 * 24 * 3_600;

/**
 * Set together with the counters when they are (re)built from MongoDB (domain/rebuild.ts). Its absence
 * means Redis lost them (a flush, or a restart without persistence): until they are rebuilt, events are not
 * counted (they are retried) and reads wait for the rebuild.
 */
export const COUNTERS_BUILT_KEY = 'kb:usage:counters-built';

/** Thrown instead of counting while the counters are missing; the event is retried after the rebuild. */
export class CountersMissingError extends Error {
  constructor() {
    super('usage counters are missing from Redis; they are being rebuilt from MongoDB');
    this.name = 'CountersMissingError';
  }
}

/** Seconds a month counter lives: until its month is over, and MONTH_KEPT_S beyond. */
export function monthTtlS(month: Date, now: Date): number {
  return Math.max(
    3_600,
    Math.ceil((startOfNextMonth(month).getTime() - now.getTime()) / 1000) + MONTH_KEPT_S,
  );
}
/** How long an applied batch is remembered: longer than the stream keeps messages (7 days). */
export const EVENT_MEMORY_S = 8 * 24 * 3_600;

/*
 * Applies one batch of events to its counters exactly once: the marker key is set only if absent, and the
 * counters move only when it was, atomically (a script runs alone). A batch applied again finds its marker
 * and changes nothing. KEYS: marker, counters…; ARGV: marker TTL, then per counter its delta and TTL (0 = none).
 */
const APPLY_ONCE = `
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
for i = 2, #KEYS do
  redis.call('INCRBY', KEYS[i], ARGV[2 * i - 2])
  local ttl = tonumber(ARGV[2 * i - 1])
  if ttl > 0 then redis.call('EXPIRE', KEYS[i], ttl) end
end
return 1
`;

export interface CountedEvent {
  ws: string;
  metric: UsageMetric;
  value: number;
  occurredAt: Date;
}

export interface Counters {
  /**
   * Adds a batch of one organization's events (`batch`: its unique id) to their workspaces' and the
   * organization's counters, unless it was added before. Throws CountersMissingError (and asks for a
   * rebuild) when Redis has lost the counters.
   */
  apply(org: string, batch: string, events: readonly CountedEvent[]): Promise<boolean>;
  /** Current values of `keys` (missing counters read 0); waits for a rebuild if the counters were lost. */
  read(keys: string[]): Promise<number[]>;
}

export interface CountersOptions {
  now?: () => Date;
  /** Called when the counters are found missing; resolves once they are rebuilt. */
  whenMissing?: () => Promise<void>;
}

export function createCounters(redis: Redis, options: CountersOptions = {}): Counters {
  const now = options.now ?? (() => new Date());
  const whenMissing = options.whenMissing ?? (async () => undefined);
  return {
    async apply(org, batch, events) {
      if ((await redis.exists(COUNTERS_BUILT_KEY)) === 0) {
        // Not awaited: the rebuild waits for events being recorded, these included.
        whenMissing().catch(() => undefined);
        throw new CountersMissingError();
      }
      const at = now();
      /** Counter key → its delta and TTL. */
      const counters = new Map<string, { delta: number; ttl: number }>();
      const add = (key: string, delta: number, ttl: number) => {
        const counter = counters.get(key);
        if (counter) counter.delta += delta;
        else counters.set(key, { delta, ttl });
      };
      for (const event of events) {
        const monthTtl = monthTtlS(event.occurredAt, at);
        for (const scope of [
          { org, ws: event.ws },
          { org, ws: null },
        ]) {
          add(counterKey(scope, event.metric, { kind: 'lifetime' }), event.value, 0);
          add(
            counterKey(scope, event.metric, { kind: 'month', at: event.occurredAt }),
            event.value,
            monthTtl,
          );
        }
      }
      const marker = `kb:usage:{${org}}:batch:${batch}`;
      const applied = await redis.eval(
        APPLY_ONCE,
        1 + counters.size,
        marker,
        ...counters.keys(),
        EVENT_MEMORY_S,
        ...[...counters.values()].flatMap(({ delta, ttl }) => [delta, ttl]),
      );
      return applied === 1;
    },
    async read(keys) {
      if (keys.length === 0) return [];
      // Two commands, not one MGET: the marker lives outside the organization's hash slot.
      let [built, values] = await Promise.all([redis.exists(COUNTERS_BUILT_KEY), redis.mget(...keys)]);
      if (built === 0) {
        await whenMissing();
        [built, values] = await Promise.all([redis.exists(COUNTERS_BUILT_KEY), redis.mget(...keys)]);
      }
      return values.map((value) => (value === null ? 0 : Number(value)));
    },
  };
}
