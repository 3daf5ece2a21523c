import type { UsageEvent, UsageMetric } from '@kb/contracts';
import type { UpdateQuery } from 'mongoose';
import { isDuplicateKey, type RollupDoc, type UsageStores } from '../store/index.js';
import type { Counters } from './counters.js';
import type { Gate } from './gate.js';
import { dayKey, hourKey, startOfDay } from './periods.js';
import { createSerializer, type Serializer } from './serial.js';

/**
 * Applies usage events to the rollups (MongoDB) and live counters (Redis) so that each event counts once,
 * however often it is delivered and wherever a previous attempt stopped. Without transactions:
 *
 * 1. the event is stored under its unique id (`pending`); a second copy finds the first and resumes it;
 * 2. each rollup (workspace-day, organization-day) gets `$inc` and the event id in `inflight` in one atomic
 *    update that only matches while the id is absent: a retried step is a no-op;
 * 3. the event is marked `rolled-up`; from now on step 2 is skipped;
 * 4. the id leaves `inflight` again (so the array stays small);
 * 5. the Redis counters move in one script guarded by a marker key (domain/counters.ts);
 * 6. the event is marked `counted`: a later copy changes nothing, and a counter rebuild (rebuild.ts) knows
 *    the counters had it.
 *
 * A crash between any two steps leaves a state the next delivery completes without counting twice.
 * Writes to one rollup document are serialized in this process (see serial.ts); recording shares the gate
 * with the counter rebuild, which runs alone.
 */
export type RecordStep = 'stored' | 'workspace-rolled-up' | 'rolled-up' | 'released' | 'counted';

export interface RecorderHooks {
  /** Runs after each step; tests simulate a crash by throwing here. */
  afterStep?(step: RecordStep, event: UsageEvent): Promise<void> | void;
}

export interface Recorder {
  /** Applies the event; 'duplicate' when it had been fully applied before. */
  record(event: UsageEvent): Promise<'recorded' | 'resumed' | 'duplicate'>;
}

export function createRecorder(
  stores: UsageStores,
  counters: Counters,
  gate: Gate,
  hooks: RecorderHooks = {},
): Recorder {
  const after = async (step: RecordStep, event: UsageEvent) => hooks.afterStep?.(step, event);
  const serially = createSerializer();

  /** Loads the stored copy of the event, storing it first if this is its first delivery. */
  async function store(event: UsageEvent, key: string) {
    const events = stores.events.in({ org_id: event.org_id, workspace_id: event.workspace_id });
    try {
      const created = await events.create({
        _id: key,
        event_id: event.event_id,
        metric: event.metric,
        value: event.value,
        occurred_at: new Date(event.occurred_at),
        received_at: new Date(),
        state: 'pending',
      });
      return { doc: created, first: true };
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      const doc = await events.findOne({ _id: key });
      if (!doc) throw new Error(`usage event ${key} is stored under another tenant`);
      return { doc, first: false };
    }
  }

  async function record(event: UsageEvent): Promise<'recorded' | 'resumed' | 'duplicate'> {
    const key = `${event.workspace_id}/${event.event_id}`;
    const { doc, first } = await store(event, key);
    if (doc.state === 'counted') return 'duplicate';
    await after('stored', event);
    // An event id published again counts as its first copy said, whatever later copies say.
    const stored = { ...event, metric: doc.metric, value: doc.value, occurred_at: doc.occurred_at };
    const targets = rollupTargets(
      stores,
      event.org_id,
      event.workspace_id,
      stored.metric,
      stored.occurred_at,
    );
    const pending = doc.state === 'pending';
    if (pending) {
      for (const [index, target] of targets.entries()) {
        await incrementOnce(serially, target, key, stored.value, stored.occurred_at);
        if (index === 0) await after('workspace-rolled-up', event);
      }
      await stores.events
        .in({ org_id: event.org_id, workspace_id: event.workspace_id })
        .updateOne({ _id: key }, { $set: { state: 'rolled-up' } });
      await after('rolled-up', event);
    }
    for (const target of targets) {
      await serially(target.id, () =>
        target.repo.updateOne({ _id: target.id }, { $pull: { inflight: key } }),
      );
    }
    await after('released', event);
    const counted = await counters.apply({
      key,
      org: event.org_id,
      ws: event.workspace_id,
      metric: stored.metric,
      value: stored.value,
      occurredAt: stored.occurred_at,
    });
    await after('counted', event);
    await stores.events
      .in({ org_id: event.org_id, workspace_id: event.workspace_id })
      .updateOne({ _id: key }, { $set: { state: 'counted' } });
    if (first) return 'recorded';
    return pending || counted ? 'resumed' : 'duplicate';
  }

  return { record: (event) => gate.shared(() => record(event)) };
}

function rollupTargets(stores: UsageStores, org: string, ws: string, metric: UsageMetric, at: Date) {
  return [ws, null].map((workspace) => ({
    repo: stores.rollups.in({ org_id: org, workspace_id: workspace }),
    id: `${org}|${workspace ?? '_'}|${metric}|${dayKey(at)}`,
    metric,
    day: startOfDay(at),
  }));
}

type RollupTarget = ReturnType<typeof rollupTargets>[number];

/** `$inc` on the rollup unless it already carries this event (see step 2 above); creates the day's document. */
function incrementOnce(
  serially: Serializer,
  target: RollupTarget,
  key: string,
  value: number,
  at: Date,
): Promise<void> {
  return serially(target.id, () => incrementUnlocked(target, key, value, at));
}

async function incrementUnlocked(target: RollupTarget, key: string, value: number, at: Date): Promise<void> {
  const update = {
    $inc: { value, [`hours.${hourKey(at)}`]: value },
    $addToSet: { inflight: key },
  } as UpdateQuery<RollupDoc>;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const { matched } = await target.repo.updateOne({ _id: target.id, inflight: { $ne: key } }, update);
    if (matched > 0) return;
    const existing = await target.repo.findOne({ _id: target.id });
    if (existing?.inflight.includes(key)) return;
    if (!existing) {
      try {
        await target.repo.create({
          _id: target.id,
          metric: target.metric,
          day: target.day,
          value: 0,
          hours: {},
          inflight: [],
        });
      } catch (error) {
        // Another event created the day's document first: fine, increment that one.
        if (!isDuplicateKey(error)) throw error;
      }
    }
  }
  throw new Error(`rollup ${target.id} could not be updated`);
}
