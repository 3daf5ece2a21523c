import type { Collection, StoredPoint } from './collection.js';
import { badRequest, formatError, isRecord } from './errors.js';
import { parsePointId } from './ids.js';
import type { Payload } from './json-path.js';
import { isSparseShape, parseDenseVector, parseSparseVector, prepareDense } from './vectors.js';

function vectorNameError(name: string) {
  return badRequest(`Not existing vector name error: ${name}`);
}

function addVector(c: Collection, point: StoredPoint, name: string, value: unknown): void {
  const dense = c.dense.get(name);
  if (dense) {
    if (isRecord(value)) throw badRequest(`Conversion between sparse and regular vectors failed for ${name}`);
    const vector = parseDenseVector(value, dense.params.size, name);
    point.dense[name] = prepareDense(vector, dense.params.distance);
    return;
  }
  const sparse = c.sparse.get(name);
  if (sparse) {
    if (!isSparseShape(value))
      throw badRequest(`Conversion between sparse and regular vectors failed for ${name}`);
    point.sparse[name] = parseSparseVector(value, name);
    return;
  }
  throw vectorNameError(name);
}

/** Document, Image and InferenceObject inputs need Qdrant's inference service; they all name a `model`. */
export function isInferenceObject(value: unknown): boolean {
  return (
    isRecord(value) &&
    typeof value.model === 'string' &&
    ('text' in value || 'image' in value || 'object' in value)
  );
}

/** A point's `vector`: a plain list for the default vector, or a map of named dense and sparse vectors. */
function parseVectorStruct(c: Collection, point: StoredPoint, value: unknown): void {
  if (value === undefined || value === null) return;
  if (Array.isArray(value)) {
    if (value.length > 0 && Array.isArray(value[0]))
      throw badRequest('multivectors are not supported by qdrant-local');
    addVector(c, point, '', value);
    return;
  }
  if (isInferenceObject(value)) throw badRequest('inference objects are not supported by qdrant-local');
  if (!isRecord(value)) throw formatError('`vector` must be a list of numbers or a map of named vectors');
  for (const [name, vector] of Object.entries(value)) {
    if (isInferenceObject(vector)) throw badRequest('inference objects are not supported by qdrant-local');
    addVector(c, point, name, vector);
  }
}

function parsePayload(value: unknown): Payload {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) throw formatError('`payload` must be an object');
  return value;
}

function newPoint(id: unknown, payload: unknown): StoredPoint {
  return { id: parsePointId(id), payload: parsePayload(payload), dense: {}, sparse: {} };
}

function parseBatch(c: Collection, batch: unknown): StoredPoint[] {
  if (!isRecord(batch) || !Array.isArray(batch.ids))
    throw formatError('`batch` must be {ids, vectors, payloads?}');
  const { ids, vectors, payloads } = batch;
  if (
    payloads !== undefined &&
    payloads !== null &&
    (!Array.isArray(payloads) || payloads.length !== ids.length)
  ) {
    throw badRequest('number of payloads must match the number of ids');
  }
  const points = ids.map((id, i) => newPoint(id, Array.isArray(payloads) ? payloads[i] : undefined));
  const perName: [string, unknown][] = Array.isArray(vectors)
    ? [['', vectors]]
    : isRecord(vectors)
      ? Object.entries(vectors)
      : [];
  if (!Array.isArray(vectors) && !isRecord(vectors))
    throw formatError('`batch.vectors` must be a list or a map');
  for (const [name, list] of perName) {
    if (!Array.isArray(list) || list.length !== ids.length) {
      throw badRequest(`number of vectors for ${JSON.stringify(name)} must match the number of ids`);
    }
    list.forEach((vector, i) => {
      if (vector !== null && vector !== undefined) addVector(c, points[i] as StoredPoint, name, vector);
    });
  }
  return points;
}

/** Parses both upsert forms (`points` and `batch`) into validated points ready to store. */
export function parseUpsertPoints(c: Collection, body: Record<string, unknown>): StoredPoint[] {
  if (Array.isArray(body.points)) {
    return body.points.map((raw) => {
      if (!isRecord(raw)) throw formatError('each point must be an object');
      if (!('id' in raw)) throw formatError('missing field `id`');
      const point = newPoint(raw.id, raw.payload);
      parseVectorStruct(c, point, raw.vector ?? raw.vectors);
      return point;
    });
  }
  if ('batch' in body) return parseBatch(c, body.batch);
  throw formatError('expected `points` or `batch`');
}
