import type { UsageMetric } from '@kb/contracts';
import { scopedModel } from '@kb/store';
import { type Connection, Schema } from 'mongoose';

/**
 * Every usage event received, under `<ws>/<event_id>`: the unique `_id` is what makes a second delivery or
 * publication of an event count once. `batch` names the batch that applies it (store/batches.ts, whose
 * state says how far that got). Kept for a little longer than the stream keeps messages, then pruned.
 */
export interface EventDoc {
  _id: string;
  org_id: string;
  workspace_id: string;
  event_id: string;
  metric: UsageMetric;
  value: number;
  occurred_at: Date;
  received_at: Date;
  batch: string;
}

export function eventsModel(connection: Connection) {
  const schema = new Schema<EventDoc>(
    {
      _id: { type: String, required: true },
      org_id: { type: String, required: true },
      workspace_id: { type: String, required: true },
      event_id: { type: String, required: true },
      metric: { type: String, required: true },
      value: { type: Number, required: true },
      occurred_at: { type: Date, required: true },
      received_at: { type: Date, required: true },
      batch: { type: String, required: true },
    },
    { versionKey: false },
  );
  // Pruning removes the events of finished batches.
  schema.index({ batch: 1 });
  return scopedModel(connection, 'UsageEvent', schema, {
    keys: ['org_id', 'workspace_id'],
    collection: 'usage_events',
  });
}
