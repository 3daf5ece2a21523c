import type { Collection } from './collection.js';
import type { Engine } from './engine.js';
import { formatError, isRecord } from './errors.js';
import type { Op } from './ops.js';

export interface RequestContext {
  engine: Engine;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
}

/** A body sent as it is, without Qdrant's `{result, status, time}` envelope (e.g. `GET /`). */
export class RawBody {
  constructor(readonly body: unknown) {}
}

/** A handler returns the `result` of Qdrant's envelope, or a RawBody. */
export type Handler = (ctx: RequestContext) => unknown;

export function bodyObject(ctx: RequestContext): Record<string, unknown> {
  const body = ctx.body ?? {};
  if (!isRecord(body)) throw formatError('expected a JSON object');
  return body;
}

export function collectionOf(ctx: RequestContext): Collection {
  return ctx.engine.collection(ctx.params.collection ?? '');
}

export interface UpdateResult {
  operation_id: number;
  status: 'acknowledged' | 'completed';
}

/**
 * Commits an update. With `wait=true` it answers once the operation is durable ("completed"); otherwise at once
 * ("acknowledged") while the log write finishes in the background, as Qdrant does.
 */
export async function commitUpdate(ctx: RequestContext, op: Op & { opId: number }): Promise<UpdateResult> {
  const done = ctx.engine.commit(op);
  if (ctx.query.get('wait') === 'true') {
    await done;
    return { operation_id: op.opId, status: 'completed' };
  }
  done.catch((error: unknown) => console.error('qdrant-local: write failed', error));
  return { operation_id: op.opId, status: 'acknowledged' };
}
