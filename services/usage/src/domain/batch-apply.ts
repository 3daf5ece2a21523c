import type { UsageMetric } from '@kb/contracts';
import type { UpdateQuery } from 'mongoose';
import { type BatchDoc, isDuplicateKey, type RollupDoc, type UsageStores } from '../store/index.js';
import type { Counters } from './counters.js';
import { dayKey, hourKey, startOfDay } from './periods.js';
import type { Serializer } from './serial.js';

/** The steps of applying a batch, in order; tests crash the service after any of them. */
export type ApplyStep = 'workspace-rolled-up' | 'rolled-up' | 'released' | 'counted';

export interface ApplyDeps {
  stores: UsageStores;
  counters: Counters;
  /** Writes to one rollup document, one at a time in this process (serial.ts). */
  serially: Serializer;
  after(step: ApplyStep, batch: BatchDoc): Promise<void>;
}

/** One rollup document a batch adds to, and what it adds. */
interface Target {
  id: string;
  level: 'workspace' | 'organization';
  repo: ReturnType<UsageStores['rollups']['in']>;
  metric: UsageMetric;
  day: Date;
  /** `$inc` of the day's value and its hours. */
  inc: Record<string, number>;
}

/** The rollup document `<org>|<ws or _>|<metric>|<day>` an event of that day counts in. */
export const rollupId = (org: string, ws: string | null, metric: UsageMetric, at: Date) =>
  `${org}|${ws ?? '_'}|${metric}|${dayKey(at)}`;

/** Each rollup the batch's events count in (their workspace's and their organization's), with the sums. */
function targetsOf(stores: UsageStores, batch: BatchDoc): Target[] {
  const targets = new Map<string, Target>();
  for (const event of batch.events) {
    const hour = `hours.${hourKey(event.occurred_at)}`;
    for (const ws of [event.workspace_id, null]) {
      const id = rollupId(batch.org_id, ws, event.metric, event.occurred_at);
      let target = targets.get(id);
      if (!target) {
        target = {
          id,
          level: ws === null ? 'organization' : 'workspace',
          repo: stores.rollups.in({ org_id: batch.org_id, workspace_id: ws }),
          metric: event.metric,
          day: startOfDay(event.occurred_at),
          inc: { value: 0 },
        };
        targets.set(id, target);
      }
      target.inc.value = (target.inc.value ?? 0) + event.value;
      target.inc[hour] = (target.inc[hour] ?? 0) + event.value;
    }
  }
  return [...targets.values()];
}

/**
 * Applies a batch from wherever a previous attempt left it, so that its events count once however often
 * this runs and wherever it stopped. Without transactions:
 *
 * 1. each rollup gets the batch's sums and the batch id in `inflight` in one update that only matches while
 *    the id is absent: a repeated step is a no-op (workspaces' rollups first, then the organization's);
 * 2. the batch is marked `rolled-up`; from now on step 1 is skipped;
 * 3. the id leaves `inflight` again (so the array stays small);
 * 4. the Redis counters move in one script guarded by a marker key for the batch (counters.ts);
 * 5. the batch is marked `counted`: a later copy of its events changes nothing, and a counter rebuild
 *    (rebuild.ts) knows the counters had it.
 */
export async function applyBatch(deps: ApplyDeps, batch: BatchDoc): Promise<void> {
  if (batch.state === 'counted' || batch.state === 'void') return;
  const { stores, serially } = deps;
  const batches = stores.batches.in({ org_id: batch.org_id });
  const targets = targetsOf(stores, batch);
  if (batch.state === 'pending') {
    for (const level of ['workspace', 'organization'] as const) {
      for (const target of targets.filter((t) => t.level === level))
        await serially(target.id, () => incrementOnce(target, batch._id));
      if (level === 'workspace') await deps.after('workspace-rolled-up', batch);
    }
    await batches.updateOne({ _id: batch._id, state: 'pending' }, { $set: { state: 'rolled-up' } });
    await deps.after('rolled-up', batch);
  }
  for (const target of targets) {
    await serially(target.id, () =>
      target.repo.updateOne({ _id: target.id }, { $pull: { inflight: batch._id } }),
    );
  }
  await deps.after('released', batch);
  await deps.counters.apply(
    batch.org_id,
    batch._id,
    batch.events.map((event) => ({
      ws: event.workspace_id,
      metric: event.metric,
      value: event.value,
      occurredAt: event.occurred_at,
    })),
  );
  await deps.after('counted', batch);
  await batches.updateOne({ _id: batch._id, state: 'rolled-up' }, { $set: { state: 'counted' } });
}

/** `$inc` on the rollup unless it already carries the batch (step 1 above); creates the day's document. */
async function incrementOnce(target: Target, batchId: string): Promise<void> {
  const update = { $inc: target.inc, $addToSet: { inflight: batchId } } as UpdateQuery<RollupDoc>;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const { matched } = await target.repo.updateOne({ _id: target.id, inflight: { $ne: batchId } }, update);
    if (matched > 0) return;
    const existing = await target.repo.findOne({ _id: target.id });
    if (existing?.inflight.includes(batchId)) return;
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
        // Another batch created the day's document first: fine, increment that one.
        if (!isDuplicateKey(error)) throw error;
      }
    }
  }
  throw new Error(`rollup ${target.id} could not be updated`);
}
