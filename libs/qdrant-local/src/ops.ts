import {
  type Collection,
  createCollection,
  deletePoint,
  type StoredPoint,
  setPayload,
  upsertPoint,
} from './collection.js';
import type { CollectionConfig } from './config.js';
import type { PointId } from './ids.js';
import { mergeInto, type Payload, removeByPath, setByPath } from './json-path.js';
import { createIndex, type IndexSchema, indexAdd } from './payload-index.js';

/**
 * Every change to the engine's state is one of these operations. Handlers validate requests and resolve filters
 * into ids, then the same `applyOp` runs live and when the write-ahead log is replayed, so replay is exact.
 */
export type Op =
  | { type: 'create_collection'; name: string; config: CollectionConfig }
  | { type: 'delete_collection'; name: string }
  | { type: 'upsert'; collection: string; opId: number; points: StoredPoint[] }
  | { type: 'delete_points'; collection: string; opId: number; ids: PointId[] }
  | { type: 'set_payload'; collection: string; opId: number; ids: PointId[]; payload: Payload; key?: string }
  | { type: 'overwrite_payload'; collection: string; opId: number; ids: PointId[]; payload: Payload }
  | { type: 'delete_payload'; collection: string; opId: number; ids: PointId[]; keys: string[] }
  | { type: 'clear_payload'; collection: string; opId: number; ids: PointId[] }
  | { type: 'create_index'; collection: string; opId: number; field: string; schema: IndexSchema }
  | { type: 'delete_index'; collection: string; opId: number; field: string };

export type Collections = Map<string, Collection>;

function eachSlot(c: Collection, ids: PointId[], opId: number, fn: (slot: number) => void): void {
  for (const id of ids) {
    const slot = c.idToSlot.get(id);
    if (slot === undefined) continue;
    c.beforeWrite?.(slot);
    fn(slot);
    c.versions[slot] = opId;
  }
}

function applyToCollection(
  c: Collection,
  op: Exclude<Op, { type: 'create_collection' | 'delete_collection' }>,
) {
  c.nextOpId = Math.max(c.nextOpId, op.opId + 1);
  // Every operation may change which points a filter selects.
  c.selections.clear();
  switch (op.type) {
    case 'upsert':
      for (const point of op.points) upsertPoint(c, point, op.opId);
      return;
    case 'delete_points':
      for (const id of op.ids) deletePoint(c, id);
      return;
    case 'set_payload':
      eachSlot(c, op.ids, op.opId, (slot) => {
        const next = structuredClone(c.payloads[slot] ?? {});
        if (op.key) setByPath(next, op.key, op.payload);
        else mergeInto(next, op.payload);
        setPayload(c, slot, next);
      });
      return;
    case 'overwrite_payload':
      eachSlot(c, op.ids, op.opId, (slot) => setPayload(c, slot, structuredClone(op.payload)));
      return;
    case 'delete_payload':
      eachSlot(c, op.ids, op.opId, (slot) => {
        const next = structuredClone(c.payloads[slot] ?? {});
        for (const key of op.keys) removeByPath(next, key);
        setPayload(c, slot, next);
      });
      return;
    case 'clear_payload':
      eachSlot(c, op.ids, op.opId, (slot) => setPayload(c, slot, {}));
      return;
    case 'create_index': {
      const index = createIndex(op.field, op.schema);
      c.indexes.set(op.field, index);
      for (const slot of c.idToSlot.values()) indexAdd(index, slot, c.payloads[slot], c.capacity);
      return;
    }
    case 'delete_index':
      c.indexes.delete(op.field);
      return;
  }
}

/** Applies one operation. Operations on a collection that no longer exists are skipped (it was deleted later). */
export function applyOp(collections: Collections, op: Op): void {
  if (op.type === 'create_collection') {
    collections.set(op.name, createCollection(op.name, op.config));
    return;
  }
  if (op.type === 'delete_collection') {
    collections.delete(op.name);
    return;
  }
  const c = collections.get(op.collection);
  if (c) applyToCollection(c, op);
}

const F32 = '\u0000f32';
const U32 = '\u0000u32';

/**
 * Binary form of an operation: a JSON header where each typed array is replaced by a reference into a binary tail,
 * so vectors are written as raw float32 rather than as decimal text.
 */
export function encodeOp(op: Op): Buffer {
  const arrays: (Float32Array | Uint32Array)[] = [];
  let tailBytes = 0;
  const header = JSON.stringify(op, (_key, value: unknown) => {
    if (value instanceof Float32Array || value instanceof Uint32Array) {
      arrays.push(value);
      tailBytes += value.byteLength;
      return { [value instanceof Float32Array ? F32 : U32]: value.length };
    }
    return value;
  });
  const headerBytes = Buffer.byteLength(header);
  const padded = (headerBytes + 3) & ~3;
  const out = Buffer.alloc(4 + padded + tailBytes);
  out.writeUInt32LE(headerBytes, 0);
  out.write(header, 4);
  let offset = 4 + padded;
  for (const array of arrays) {
    Buffer.from(array.buffer, array.byteOffset, array.byteLength).copy(out, offset);
    offset += array.byteLength;
  }
  return out;
}

export function decodeOp(buffer: Buffer): Op {
  const headerBytes = buffer.readUInt32LE(0);
  const header = buffer.toString('utf8', 4, 4 + headerBytes);
  let offset = 4 + ((headerBytes + 3) & ~3);
  return JSON.parse(header, (_key, value: unknown) => {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const record = value as Record<string, unknown>;
      const f32 = record[F32];
      const u32 = record[U32];
      const length = typeof f32 === 'number' ? f32 : typeof u32 === 'number' ? u32 : undefined;
      if (length !== undefined && Object.keys(record).length === 1) {
        const bytes = buffer.subarray(offset, offset + length * 4);
        offset += length * 4;
        const copy = new Uint8Array(bytes).buffer;
        return typeof f32 === 'number' ? new Float32Array(copy) : new Uint32Array(copy);
      }
    }
    return value;
  }) as Op;
}
