import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { UsageEvent } from '@kb/contracts';
import {
  type BatchDoc,
  type BatchEvent,
  type EventDoc,
  isDuplicateKey,
  type UsageStores,
} from '../store/index.js';
import { type ApplyDeps, type ApplyStep, applyBatch } from './batch-apply.js';
import type { Counters } from './counters.js';
import type { Gate } from './gate.js';
import { createSerializer } from './serial.js';

/**
 * Applies usage events to the rollups (MongoDB) and live counters (Redis) so that each event counts once,
 * however often it is delivered and wherever a previous attempt stopped. Events arriving while a batch is
 * being applied wait and go together in the next one (one per organization), so a busy stream costs a few
 * writes per batch rather than several per event:
 *
 * 1. each event is stored under its unique id, naming its batch; a second copy finds the first and
 *    finishes that copy's batch (or, if the batch was never stored, moves the event to a batch of its own);
 * 2. the batch (its events' first copies) is stored;
 * 3. the batch is applied (batch-apply.ts): rollups, then counters, each step guarded by the batch id.
 *
 * A crash between any two steps leaves a state the next delivery completes without counting twice.
 * Recording shares the gate with the counter rebuild, which runs alone.
 */
export type RecordStep = 'stored' | 'batched' | ApplyStep;

export interface RecorderHooks {
  /** Runs after each step for every event of the batch; tests simulate a crash by throwing here. */
  afterStep?(step: RecordStep, event: UsageEvent): Promise<void> | void;
}

export interface RecorderOptions {
  hooks?: RecorderHooks;
  /**
   * Least time between the starts of two batches (default 1 s): under a steady stream, events arriving
   * meanwhile wait and go together, instead of each finding the recorder idle and costing a batch of its
   * own (a batch writes each rollup it touches twice, whatever its size). An event after a quiet spell is
   * recorded at once.
   */
  gatherMs?: number;
}

export type RecordOutcome = 'recorded' | 'resumed' | 'duplicate';

export interface Recorder {
  /** Applies the event; 'duplicate' when it had been fully applied before. */
  record(event: UsageEvent): Promise<RecordOutcome>;
}

interface Waiting {
  event: UsageEvent;
  resolve(outcome: RecordOutcome): void;
  reject(error: unknown): void;
}

/** Events per batch: the batch is one document, and a retried batch redoes this many events' work. */
const MAX_BATCH = 500;
const DEFAULT_GATHER_MS = 1_000;
/** Attempts at following a stored event to a batch that applies it (others may be moving it meanwhile). */
const RESUME_ATTEMPTS = 5;

const newBatchId = () => `batch_${randomUUID()}`;
const keyOf = (event: { workspace_id: string; event_id: string }) =>
  `${event.workspace_id}/${event.event_id}`;
const scopeOf = (event: { org_id: string; workspace_id: string }) => ({
  org_id: event.org_id,
  workspace_id: event.workspace_id,
});
const batchEventOf = (doc: EventDoc): BatchEvent => ({
  key: doc._id,
  workspace_id: doc.workspace_id,
  metric: doc.metric,
  value: doc.value,
  occurred_at: doc.occurred_at,
});

export function createRecorder(
  stores: UsageStores,
  counters: Counters,
  gate: Gate,
  options: RecorderOptions = {},
): Recorder {
  const hooks = options.hooks ?? {};
  const gatherMs = options.gatherMs ?? DEFAULT_GATHER_MS;
  /** The events of each batch this process applies, for the hooks. */
  const eventsOf = new WeakMap<BatchDoc, UsageEvent[]>();
  const afterEach = async (step: RecordStep, events: readonly UsageEvent[]) => {
    if (!hooks.afterStep) return;
    for (const event of events) await hooks.afterStep(step, event);
  };
  const apply: ApplyDeps = {
    stores,
    counters,
    serially: createSerializer(),
    after: (step, batch) => afterEach(step, eventsOf.get(batch) ?? []),
  };
  const batches = (org: string) => stores.batches.in({ org_id: org });

  /** Stores a batch of one organization's first copies and applies it. */
  async function storeAndApply(org: string, batchId: string, docs: EventDoc[], events: UsageEvent[]) {
    // A resumer that found the events without their batch has taken the id over: nothing is applied here,
    // the events are redelivered and each goes to a batch of its own (see `resume`).
    const batch = (await batches(org).create({
      _id: batchId,
      state: 'pending',
      created_at: new Date(),
      events: docs.map(batchEventOf),
    })) as BatchDoc;
    eventsOf.set(batch, events);
    await afterEach('batched', events);
    await applyBatch(apply, batch);
  }

  /** Finishes whatever batch applies the event's stored copy. */
  async function resume(event: UsageEvent): Promise<RecordOutcome> {
    const key = keyOf(event);
    const org = event.org_id;
    for (let attempt = 0; attempt < RESUME_ATTEMPTS; attempt += 1) {
      const stored = await stores.events.in(scopeOf(event)).findOne({ _id: key });
      if (!stored) throw new Error(`usage event ${key} is stored under another tenant`);
      if (!stored.batch) throw new Error(`usage event ${key} was stored without a batch`);
      const batch = await batches(org).findOne({ _id: stored.batch });
      if (batch && batch.state !== 'void') {
        if (batch.state === 'counted') return 'duplicate';
        eventsOf.set(batch, [event]);
        await applyBatch(apply, batch);
        return 'resumed';
      }
      if (!batch) {
        // Stored, but its batch was not: take the batch id over, so its creator can never apply it.
        const voided = await batches(org)
          .create({ _id: stored.batch, state: 'void', created_at: new Date(), events: [] })
          .then(
            () => true,
            (error: unknown) => {
              if (isDuplicateKey(error)) return false;
              throw error;
            },
          );
        if (!voided) continue;
      }
      const own = newBatchId();
      const moved = await stores.events
        .in(scopeOf(event))
        .updateOne({ _id: key, batch: stored.batch }, { $set: { batch: own } });
      if (moved.matched === 0) continue;
      await storeAndApply(org, own, [{ ...stored, batch: own }], [event]);
      return 'resumed';
    }
    throw new Error(`usage event ${key} kept moving between batches`);
  }

  /** Records one organization's events: the new ones as one batch, then the copies of earlier ones. */
  async function recordOrganization(org: string, waiting: Waiting[]): Promise<void> {
    const batchId = newBatchId();
    const receivedAt = new Date();
    const stored = await Promise.allSettled(
      waiting.map(({ event }) =>
        stores.events.in(scopeOf(event)).create({
          _id: keyOf(event),
          event_id: event.event_id,
          metric: event.metric,
          value: event.value,
          occurred_at: new Date(event.occurred_at),
          received_at: receivedAt,
          batch: batchId,
        }),
      ),
    );
    const fresh: { doc: EventDoc; item: Waiting }[] = [];
    const copies: Waiting[] = [];
    stored.forEach((result, index) => {
      const item = waiting[index] as Waiting;
      if (result.status === 'fulfilled') fresh.push({ doc: result.value, item });
      else if (isDuplicateKey(result.reason)) copies.push(item);
      else item.reject(result.reason);
    });
    try {
      if (fresh.length > 0) {
        const events = fresh.map(({ item }) => item.event);
        await afterEach('stored', events);
        await storeAndApply(
          org,
          batchId,
          fresh.map(({ doc }) => doc),
          events,
        );
        for (const { item } of fresh) item.resolve('recorded');
      }
    } catch (error) {
      for (const item of [...fresh.map((entry) => entry.item), ...copies]) item.reject(error);
      return;
    }
    // Copies of events stored before (a redelivery, or a second copy within this batch): rare.
    for (const item of copies) await resume(item.event).then(item.resolve, item.reject);
  }

  const queue: Waiting[] = [];
  let flushing = false;
  /** When the last batch started (performance.now()). */
  let lastStart = Number.NEGATIVE_INFINITY;

  /** Applies what is waiting, a batch per organization at a time, until nothing is. */
  async function flush(): Promise<void> {
    if (flushing) return;
    flushing = true;
    try {
      while (queue.length > 0) {
        // Events recorded in the same turn of the event loop (a batch of deliveries) go together, and so do
        // those of the rest of `gatherMs` after the previous batch started.
        const wait = lastStart + gatherMs - performance.now();
        if (wait > 0) await sleep(wait);
        else await Promise.resolve();
        lastStart = performance.now();
        const taken = queue.splice(0, MAX_BATCH);
        const byOrg = new Map<string, Waiting[]>();
        for (const item of taken) {
          const list = byOrg.get(item.event.org_id);
          if (list) list.push(item);
          else byOrg.set(item.event.org_id, [item]);
        }
        await gate
          .shared(() =>
            Promise.all([...byOrg].map(([org, items]) => recordOrganization(org, items))).then(
              () => undefined,
            ),
          )
          .catch((error: unknown) => {
            for (const item of taken) item.reject(error);
          });
      }
    } finally {
      flushing = false;
    }
  }

  return {
    record(event) {
      return new Promise<RecordOutcome>((resolve, reject) => {
        queue.push({ event, resolve, reject });
        void flush();
      });
    },
  };
}
