import type { Collection } from './collection.js';
import { vectorOutput } from './collection.js';
import { bodyObject, collectionOf, commitUpdate, type Handler, type RequestContext } from './context.js';
import { badRequest, formatError, isRecord, notFound, optionalLimit } from './errors.js';
import { parseFilter } from './filter.js';
import { type PointId, parsePointId, parsePointIds } from './ids.js';
import { type PayloadSelector, parsePayloadSelector, selectPayload } from './json-path.js';
import { parseUpsertPoints } from './point-input.js';
import {
  compileSelection,
  countMatching,
  matchingIds,
  parseSelection,
  passes,
  scrollSlots,
} from './select.js';

export type VectorSel = boolean | string[];

export function parseWithVector(value: unknown, fallback = false): VectorSel {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'boolean') return value;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value;
  throw formatError('`with_vector` must be a boolean or a list of vector names');
}

export function renderRecord(c: Collection, slot: number, payload: PayloadSelector, vector: VectorSel) {
  const out: Record<string, unknown> = { id: c.ids[slot] };
  const selected = selectPayload(c.payloads[slot] ?? {}, payload);
  if (selected !== undefined) out.payload = selected;
  const vectors = vectorOutput(c, slot, vector);
  if (vectors !== undefined) out.vector = vectors;
  return out;
}

/** The ids an update targets: `points` as given, or every point matching `filter`. */
function targetIds(c: Collection, body: Record<string, unknown>): PointId[] {
  if (body.points !== undefined && body.points !== null) return parsePointIds(body.points, 'points');
  if (body.filter !== undefined && body.filter !== null)
    return matchingIds(c, parseSelection(c, body.filter));
  throw badRequest('Either `points` or `filter` is required');
}

export const upsertPoints: Handler = (ctx) => {
  const c = collectionOf(ctx);
  const body = bodyObject(ctx);
  let points = parseUpsertPoints(c, body);
  const mode = body.update_mode ?? 'upsert';
  if (mode !== 'upsert' && mode !== 'insert_only' && mode !== 'update_only') {
    throw formatError('`update_mode` must be upsert, insert_only or update_only');
  }
  if (mode === 'insert_only') points = points.filter((p) => !c.idToSlot.has(p.id));
  if (mode === 'update_only') points = points.filter((p) => c.idToSlot.has(p.id));
  const updateFilter = parseFilter(body.update_filter);
  if (updateFilter) {
    const selection = compileSelection(c, updateFilter);
    points = points.filter((p) => {
      const slot = c.idToSlot.get(p.id);
      return slot === undefined || passes(c, selection, slot);
    });
  }
  return commitUpdate(ctx, { type: 'upsert', collection: c.name, opId: c.nextOpId, points });
};

function retrieveSlots(c: Collection, ids: PointId[]): number[] {
  const seen = new Set<PointId>();
  const slots: number[] = [];
  for (const id of ids) {
    const slot = c.idToSlot.get(id);
    if (slot !== undefined && !seen.has(id)) slots.push(slot);
    seen.add(id);
  }
  return slots;
}

export const retrievePoints: Handler = (ctx) => {
  const c = collectionOf(ctx);
  const body = bodyObject(ctx);
  const ids = parsePointIds(body.ids, 'ids');
  const payload = parsePayloadSelector(body.with_payload, true);
  const vector = parseWithVector(body.with_vector);
  return retrieveSlots(c, ids).map((slot) => renderRecord(c, slot, payload, vector));
};

export const getPoint: Handler = (ctx) => {
  const c = collectionOf(ctx);
  const raw = ctx.params.id ?? '';
  const id = parsePointId(/^\d+$/.test(raw) ? Number(raw) : raw);
  const slot = c.idToSlot.get(id);
  if (slot === undefined) throw notFound(`Point with id ${id} does not exists!`);
  return renderRecord(c, slot, { kind: 'all' }, true);
};

export const deletePoints: Handler = (ctx) => {
  const c = collectionOf(ctx);
  const ids = targetIds(c, bodyObject(ctx));
  return commitUpdate(ctx, { type: 'delete_points', collection: c.name, opId: c.nextOpId, ids });
};

function payloadArg(body: Record<string, unknown>) {
  if (!isRecord(body.payload)) throw formatError('`payload` must be an object');
  return body.payload;
}

export const setPayload: Handler = (ctx) => {
  const c = collectionOf(ctx);
  const body = bodyObject(ctx);
  const payload = payloadArg(body);
  const ids = targetIds(c, body);
  const key = typeof body.key === 'string' && body.key !== '' ? body.key : undefined;
  return commitUpdate(ctx, {
    type: 'set_payload',
    collection: c.name,
    opId: c.nextOpId,
    ids,
    payload,
    ...(key ? { key } : {}),
  });
};

export const overwritePayload: Handler = (ctx) => {
  const c = collectionOf(ctx);
  const body = bodyObject(ctx);
  const payload = payloadArg(body);
  const ids = targetIds(c, body);
  return commitUpdate(ctx, { type: 'overwrite_payload', collection: c.name, opId: c.nextOpId, ids, payload });
};

export const deletePayload: Handler = (ctx) => {
  const c = collectionOf(ctx);
  const body = bodyObject(ctx);
  if (!Array.isArray(body.keys) || !body.keys.every((k) => typeof k === 'string')) {
    throw formatError('`keys` must be a list of payload keys');
  }
  const keys = body.keys as string[];
  const ids = targetIds(c, body);
  return commitUpdate(ctx, { type: 'delete_payload', collection: c.name, opId: c.nextOpId, ids, keys });
};

export const clearPayload: Handler = (ctx) => {
  const c = collectionOf(ctx);
  const ids = targetIds(c, bodyObject(ctx));
  return commitUpdate(ctx, { type: 'clear_payload', collection: c.name, opId: c.nextOpId, ids });
};

export const scrollPoints: Handler = (ctx) => {
  const c = collectionOf(ctx);
  const body = bodyObject(ctx);
  if (body.order_by !== undefined && body.order_by !== null)
    throw badRequest('order_by is not supported by qdrant-local');
  const limit = optionalLimit(body.limit, 'limit') ?? 10;
  const offset = body.offset === undefined || body.offset === null ? undefined : parsePointId(body.offset);
  const payload = parsePayloadSelector(body.with_payload, true);
  const vector = parseWithVector(body.with_vector);
  const { slots, next } = scrollSlots(c, parseSelection(c, body.filter), offset, limit);
  return {
    points: slots.map((slot) => renderRecord(c, slot, payload, vector)),
    next_page_offset: next ?? null,
  };
};

export const countPoints: Handler = (ctx) => {
  const c = collectionOf(ctx);
  const body = bodyObject(ctx);
  if (body.filter === undefined || body.filter === null) return { count: c.idToSlot.size };
  return { count: countMatching(c, parseSelection(c, body.filter)) };
};

const BATCH_HANDLERS: Record<string, Handler> = {
  upsert: upsertPoints,
  delete: deletePoints,
  set_payload: setPayload,
  overwrite_payload: overwritePayload,
  delete_payload: deletePayload,
  clear_payload: clearPayload,
};

/** POST /points/batch: runs each operation in order, waiting for the last one as the request asks. */
export const batchUpdate: Handler = async (ctx) => {
  const body = bodyObject(ctx);
  if (!Array.isArray(body.operations)) throw formatError('`operations` must be a list');
  collectionOf(ctx);
  const results: unknown[] = [];
  for (const operation of body.operations) {
    if (!isRecord(operation) || Object.keys(operation).length !== 1)
      throw formatError('invalid update operation');
    const [name, args] = Object.entries(operation)[0] as [string, unknown];
    const handler = BATCH_HANDLERS[name];
    if (!handler) throw badRequest(`update operation \`${name}\` is not supported by qdrant-local`);
    const sub: RequestContext = { ...ctx, body: args };
    results.push(await handler(sub));
  }
  return results;
};
