import type { UsageMetric } from '@kb/contracts';
import { scopedModel } from '@kb/store';
import { type Connection, Schema } from 'mongoose';

/** One event as a batch applies it: the values of its first stored copy. */
export interface BatchEvent {
  /** The event's `_id` in `usage_events`: `<ws>/<event_id>`. */
  key: string;
  workspace_id: string;
  metric: UsageMetric;
  value: number;
  occurred_at: Date;
}

/**
 * Usage events of one organization applied together (domain/recorder.ts): one write per rollup and step for
 * the whole batch instead of one per event. `state` says how far applying it got; `void` marks a batch whose
 * creator stopped before storing it, taken over so that creator can never apply it (its events move on to
 * batches of their own).
 */
export interface BatchDoc {
  _id: string;
  org_id: string;
  state: 'pending' | 'rolled-up' | 'counted' | 'void';
  created_at: Date;
  events: BatchEvent[];
}

export const UNFINISHED_BATCH_STATES = ['pending', 'rolled-up'] as const;

export function batchesModel(connection: Connection) {
  const event = new Schema<BatchEvent>(
    {
      key: { type: String, required: true },
      workspace_id: { type: String, required: true },
      metric: { type: String, required: true },
      value: { type: Number, required: true },
      occurred_at: { type: Date, required: true },
    },
    { _id: false, versionKey: false },
  );
  const schema = new Schema<BatchDoc>(
    {
      _id: { type: String, required: true },
      org_id: { type: String, required: true },
      state: { type: String, required: true, enum: ['pending', 'rolled-up', 'counted', 'void'] },
      created_at: { type: Date, required: true },
      events: { type: [event], default: [] },
    },
    { versionKey: false },
  );
  // The counter rebuild reads the few batches not yet counted; pruning reads old finished ones.
  schema.index({ state: 1, created_at: 1 });
  return scopedModel(connection, 'UsageBatch', schema, { keys: ['org_id'], collection: 'usage_batches' });
}
