import { randomUUID } from 'node:crypto';
import type { UsageMetric } from '@kb/contracts';
import type { Logger } from '@kb/log';
import { unscoped } from '@kb/store';
import type { Redis } from 'ioredis';
import { UNFINISHED_BATCH_STATES } from '../store/batches.js';
import type { BatchDoc, RollupDoc, UsageStores } from '../store/index.js';
import { rollupId } from './batch-apply.js';
import { COUNTERS_BUILT_KEY, type CounterScope, counterKey, monthTtlS } from './counters.js';
import type { Gate } from './gate.js';
import { monthKey } from './periods.js';

const LOCK_KEY = 'kb:usage:counters-rebuild-lock';
const LOCK_MS = 120_000;
const PAGE = 1_000;
const REASON = 'rebuild the usage counters of every tenant';

/** Deletes the lock only if it is still ours (it may have expired and been taken by another replica). */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * Rebuilds the Redis counters from MongoDB when Redis has lost them (COUNTERS_BUILT_KEY missing): at start,
 * when a reconnection finds them gone, every `checkMs`, and whenever counting or a quota read meets their
 * absence. Lifetime counters are the sum of every rollup; month counters the sum of the current month's.
 *
 * Batches applied to the rollups but not yet to the counters (state other than `counted`, see
 * batch-apply.ts) are left out: their events' redelivery adds them. The rebuild runs exclusively in this process (gate), one
 * replica at a time (a Redis lock), and writes every counter and the marker in one MULTI; other replicas
 * refuse to count until the marker is back.
 */
export function createCounterRebuild(deps: {
  stores: UsageStores;
  redis: Redis;
  gate: Gate;
  log: Logger;
  now?: () => Date;
  checkMs?: number;
}) {
  const { redis, log } = deps;
  const now = deps.now ?? (() => new Date());
  let running: Promise<void> | undefined;

  async function waitForBuilt(timeoutMs = LOCK_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if ((await redis.exists(COUNTERS_BUILT_KEY)) === 1) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error('usage counters were not rebuilt in time');
  }

  async function rebuildOnce(): Promise<void> {
    if ((await redis.exists(COUNTERS_BUILT_KEY)) === 1) return;
    const token = randomUUID();
    if ((await redis.set(LOCK_KEY, token, 'PX', LOCK_MS, 'NX')) !== 'OK') return waitForBuilt();
    try {
      await deps.gate.exclusive(async () => {
        if ((await redis.exists(COUNTERS_BUILT_KEY)) === 1) return;
        const started = Date.now();
        const at = now();
        const totals = await totalsFromMongo(deps.stores, at);
        const write = redis.multi();
        for (const [key, { value, month }] of totals) {
          if (month) write.set(key, value, 'EX', monthTtlS(month, at));
          else write.set(key, value);
        }
        write.set(COUNTERS_BUILT_KEY, at.toISOString());
        const results = await write.exec();
        const failed = results?.find(([error]) => error);
        if (!results || failed) throw failed?.[0] ?? new Error('counter rebuild was not applied');
        log.warn(
          { counters: totals.size, took_ms: Date.now() - started },
          'usage counters rebuilt from MongoDB',
        );
      });
    } finally {
      await redis.eval(RELEASE, 1, LOCK_KEY, token).catch(() => undefined);
    }
  }

  /** Rebuilds if the counters are missing; concurrent callers share one run. */
  function ensure(): Promise<void> {
    running ??= rebuildOnce().finally(() => {
      running = undefined;
    });
    return running;
  }

  const check = () => {
    ensure().catch((error: unknown) => log.warn({ err: error }, 'usage counter rebuild failed; will retry'));
  };
  const onReady = () => check();
  redis.on('ready', onReady);
  const timer = setInterval(check, deps.checkMs ?? 5_000);
  timer.unref();

  return {
    ensure,
    stop() {
      clearInterval(timer);
      redis.off('ready', onReady);
    },
  };
}

export type CounterRebuild = ReturnType<typeof createCounterRebuild>;

interface Total {
  value: number;
  /** Set for month counters: the month they count. */
  month: Date | null;
}

/** What every counter should read, from the rollups, less the batches the counters have not seen yet. */
async function totalsFromMongo(stores: UsageStores, at: Date): Promise<Map<string, Total>> {
  const thisMonth = monthKey(at);
  const totals = new Map<string, Total>();
  const add = (scope: CounterScope, metric: UsageMetric, day: Date, value: number) => {
    const lifetime = counterKey(scope, metric, { kind: 'lifetime' });
    totals.set(lifetime, { value: (totals.get(lifetime)?.value ?? 0) + value, month: null });
    if (monthKey(day) !== thisMonth) return;
    const month = counterKey(scope, metric, { kind: 'month', at: day });
    totals.set(month, { value: (totals.get(month)?.value ?? 0) + value, month: day });
  };

  // Batches still in flight on a rollup: `<rollup id> <batch id>`.
  const inflight = new Set<string>();
  const rollups = (filter: object) =>
    unscoped(
      REASON,
      stores.rollups.model.find(filter).sort({ _id: 1 }).limit(PAGE).lean<RollupDoc[]>(),
    ).exec();
  const batches = (filter: object) =>
    unscoped(
      REASON,
      stores.batches.model.find(filter).sort({ _id: 1 }).limit(PAGE).lean<BatchDoc[]>(),
    ).exec();
  for await (const rollup of pages(rollups, {})) {
    add({ org: rollup.org_id, ws: rollup.workspace_id }, rollup.metric, rollup.day, rollup.value);
    for (const batch of rollup.inflight ?? []) inflight.add(`${rollup._id} ${batch}`);
  }
  const unfinished = { state: { $in: UNFINISHED_BATCH_STATES } };
  for await (const batch of pages(batches, unfinished)) {
    for (const event of batch.events) {
      for (const ws of [event.workspace_id, null]) {
        const rollup = rollupId(batch.org_id, ws, event.metric, event.occurred_at);
        // A rolled-up batch is in every rollup of its events; a pending one in those that hold its id.
        if (batch.state === 'rolled-up' || inflight.has(`${rollup} ${batch._id}`))
          add({ org: batch.org_id, ws }, event.metric, event.occurred_at, -event.value);
      }
    }
  }
  return totals;
}

/** Every document `fetch` finds for `filter`, by `_id`, a page at a time. */
async function* pages<T extends { _id: string }>(
  fetch: (filter: object) => Promise<T[]>,
  filter: object,
): AsyncGenerator<T> {
  let after: string | null = null;
  for (;;) {
    const docs = await fetch(after === null ? filter : { ...filter, _id: { $gt: after } });
    for (const doc of docs) yield doc;
    if (docs.length < PAGE) return;
    after = (docs[docs.length - 1] as T)._id;
  }
}
