import { formatError, isRecord } from './errors.js';
import { getValues, type PathItem, type Payload, parsePath } from './json-path.js';
import { newPostings, type Postings, postingsAdd, postingsDelete } from './postings.js';
import { type TextParams, textParams } from './text.js';

export type IndexType = 'keyword' | 'integer' | 'float' | 'geo' | 'text' | 'bool' | 'datetime' | 'uuid';

const TYPES: readonly IndexType[] = [
  'keyword',
  'integer',
  'float',
  'geo',
  'text',
  'bool',
  'datetime',
  'uuid',
];

export interface IndexSchema {
  type: IndexType;
  /** Present when the schema was given in its object form; echoed as `params` in payload_schema. */
  params?: Record<string, unknown>;
}

export interface PayloadIndex {
  field: string;
  path: PathItem[];
  schema: IndexSchema;
  /**
   * Value → slots holding it, kept for the index types whose equality lookups decide a match exactly (keyword,
   * integer, bool). Only live points are in it, so a value held by `idToSlot.size` slots is held by every point.
   */
  values: Map<unknown, Postings> | undefined;
  text: TextParams | undefined;
}

export function parseIndexSchema(raw: unknown): IndexSchema {
  if (typeof raw === 'string') {
    if (!TYPES.includes(raw as IndexType)) throw formatError(`unknown payload schema type \`${raw}\``);
    return { type: raw as IndexType };
  }
  if (isRecord(raw) && typeof raw.type === 'string' && TYPES.includes(raw.type as IndexType)) {
    return { type: raw.type as IndexType, params: raw };
  }
  throw formatError('`field_schema` must be a payload schema type or params with a `type`');
}

/** Whether an index of this type holds `value` (so an equality lookup of it is exact). */
export function accepts(type: IndexType, value: unknown): boolean {
  switch (type) {
    case 'keyword':
    case 'text':
    case 'uuid':
    case 'datetime':
      return typeof value === 'string';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'float':
      return typeof value === 'number';
    case 'bool':
      return typeof value === 'boolean';
    case 'geo':
      return isRecord(value) && typeof value.lon === 'number' && typeof value.lat === 'number';
  }
}

/** The values an index would hold for a payload: leaf arrays are indexed element by element. */
function indexedValues(index: PayloadIndex, payload: Payload | undefined): unknown[] {
  const out: unknown[] = [];
  for (const value of getValues(payload, index.path)) {
    if (Array.isArray(value)) {
      for (const element of value) if (accepts(index.schema.type, element)) out.push(element);
    } else if (accepts(index.schema.type, value)) {
      out.push(value);
    }
  }
  return out;
}

export function createIndex(field: string, schema: IndexSchema): PayloadIndex {
  const lookup = schema.type === 'keyword' || schema.type === 'integer' || schema.type === 'bool';
  return {
    field,
    path: parsePath(field),
    schema,
    values: lookup ? new Map() : undefined,
    text: schema.type === 'text' ? textParams(schema.params) : undefined,
  };
}

/** `capacity` is the collection's slot capacity, which sizes bitmap postings. */
export function indexAdd(
  index: PayloadIndex,
  slot: number,
  payload: Payload | undefined,
  capacity: number,
): void {
  if (!index.values) return;
  for (const value of indexedValues(index, payload)) {
    let slots = index.values.get(value);
    if (!slots) {
      slots = newPostings();
      index.values.set(value, slots);
    }
    postingsAdd(slots, slot, capacity);
  }
}

export function indexRemove(
  index: PayloadIndex,
  slot: number,
  payload: Payload | undefined,
  capacity: number,
): void {
  if (!index.values) return;
  for (const value of indexedValues(index, payload)) {
    const slots = index.values.get(value);
    if (!slots) continue;
    postingsDelete(slots, slot, capacity);
    if (slots.size === 0) index.values.delete(value);
  }
}

/** Number of points with at least one value of the index's type (the `points` of payload_schema). */
export function indexedPointCount(index: PayloadIndex, payloads: (Payload | undefined)[]): number {
  let count = 0;
  for (const payload of payloads) if (payload && indexedValues(index, payload).length > 0) count++;
  return count;
}

export function renderIndex(index: PayloadIndex, payloads: (Payload | undefined)[]): Record<string, unknown> {
  return {
    data_type: index.schema.type,
    ...(index.schema.params ? { params: index.schema.params } : {}),
    points: indexedPointCount(index, payloads),
  };
}
