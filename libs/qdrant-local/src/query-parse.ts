import { badRequest, formatError, isRecord, optionalLimit, optionalNumber, optionalUint } from './errors.js';
import { type FilterAst, parseFilter } from './filter.js';
import { isPointId, type PointId, parsePointId } from './ids.js';
import { type PayloadSelector, parsePayloadSelector } from './json-path.js';
import { isInferenceObject } from './point-input.js';
import { parseWithVector, type VectorSel } from './points.js';
import { isSparseShape, parseSparseVector, type SparseVector } from './vectors.js';

export type VectorInput =
  | { kind: 'dense'; values: number[] }
  | { kind: 'sparse'; vector: SparseVector }
  | { kind: 'id'; id: PointId };

export type QuerySpec =
  | { kind: 'nearest'; input: VectorInput }
  | { kind: 'rrf'; k: number; weights: number[] | undefined }
  | { kind: 'dbsf' };

export interface QueryNode {
  prefetch: QueryNode[];
  query: QuerySpec | undefined;
  /** Vector name; "" is the default (unnamed) vector. */
  using: string;
  filter: FilterAst | undefined;
  scoreThreshold: number | undefined;
  limit: number;
}

export interface QueryRequest extends QueryNode {
  offset: number;
  withPayload: PayloadSelector;
  withVector: VectorSel;
}

const DEFAULT_RRF_K = 2;
const MAX_PREFETCH_DEPTH = 64;
const UNSUPPORTED = [
  'recommend',
  'discover',
  'context',
  'order_by',
  'formula',
  'sample',
  'relevance_feedback',
];

function parseVectorInput(value: unknown): VectorInput {
  if (Array.isArray(value)) {
    if (value.length > 0 && Array.isArray(value[0]))
      throw badRequest('multivector queries are not supported by qdrant-local');
    if (!value.every((x) => typeof x === 'number' && Number.isFinite(x)))
      throw formatError('a query vector must be numbers');
    return { kind: 'dense', values: value as number[] };
  }
  if (isSparseShape(value)) return { kind: 'sparse', vector: parseSparseVector(value, 'query') };
  if (typeof value === 'number' || (typeof value === 'string' && isPointId(value))) {
    return { kind: 'id', id: parsePointId(value) };
  }
  if (isInferenceObject(value)) {
    throw badRequest('inference (Document, Image, InferenceObject) is not supported by qdrant-local');
  }
  throw formatError(
    `data did not match any variant of untagged enum QueryInterface: ${JSON.stringify(value)}`,
  );
}

function parseQuery(value: unknown): QuerySpec | undefined {
  if (value === undefined || value === null) return undefined;
  if (isRecord(value) && !isSparseShape(value)) {
    if ('nearest' in value) {
      if (value.mmr !== undefined && value.mmr !== null)
        throw badRequest('mmr is not supported by qdrant-local');
      return { kind: 'nearest', input: parseVectorInput(value.nearest) };
    }
    if ('fusion' in value) {
      if (value.fusion === 'rrf') return { kind: 'rrf', k: DEFAULT_RRF_K, weights: undefined };
      if (value.fusion === 'dbsf') return { kind: 'dbsf' };
      throw formatError(`unknown variant \`${String(value.fusion)}\`, expected \`rrf\` or \`dbsf\``);
    }
    if ('rrf' in value) {
      const params = value.rrf ?? {};
      if (!isRecord(params)) throw formatError('`rrf` must be an object');
      const k = optionalUint(params.k, 'rrf.k') ?? DEFAULT_RRF_K;
      const weights = params.weights;
      if (
        weights !== undefined &&
        weights !== null &&
        !(Array.isArray(weights) && weights.every((w) => typeof w === 'number'))
      ) {
        throw formatError('`rrf.weights` must be a list of numbers');
      }
      return { kind: 'rrf', k, weights: (weights as number[] | null | undefined) ?? undefined };
    }
    const name = UNSUPPORTED.find((key) => key in value);
    if (name) throw badRequest(`\`${name}\` queries are not supported by qdrant-local`);
  }
  return { kind: 'nearest', input: parseVectorInput(value) };
}

function parseNode(raw: Record<string, unknown>, depth: number): QueryNode {
  if (depth > MAX_PREFETCH_DEPTH)
    throw badRequest(`prefetches depth exceeds max depth ${MAX_PREFETCH_DEPTH}`);
  const rawPrefetch = raw.prefetch;
  const list =
    rawPrefetch === undefined || rawPrefetch === null
      ? []
      : Array.isArray(rawPrefetch)
        ? rawPrefetch
        : [rawPrefetch];
  const prefetch = list.map((p) => {
    if (!isRecord(p)) throw formatError('a prefetch must be an object');
    return parseNode(p, depth + 1);
  });
  if (raw.using !== undefined && raw.using !== null && typeof raw.using !== 'string')
    throw formatError('`using` must be a string');
  const node: QueryNode = {
    prefetch,
    query: parseQuery(raw.query),
    using: (raw.using as string | undefined | null) ?? '',
    filter: parseFilter(raw.filter),
    scoreThreshold: optionalNumber(raw.score_threshold, 'score_threshold'),
    limit: optionalLimit(raw.limit, 'limit') ?? 10,
  };
  if (prefetch.length > 0 && !node.query) {
    throw badRequest(
      "A query is needed to merge the prefetches. Can't have prefetches without defining a query.",
    );
  }
  if (node.scoreThreshold !== undefined && !node.query) {
    throw badRequest(
      "A query is needed to use the score_threshold. Can't have score_threshold without defining a query.",
    );
  }
  if (node.query && node.query.kind !== 'nearest') {
    if (node.using !== '') throw badRequest("Fusion queries cannot be combined with the 'using' field.");
    if (prefetch.length === 0) throw badRequest('cannot apply Fusion without prefetches');
    const weights = node.query.kind === 'rrf' ? node.query.weights : undefined;
    if (weights && weights.length !== prefetch.length) {
      throw badRequest(
        `Number of weights in RRF should match number of pre-fetches: got ${weights.length}, expected ${prefetch.length}`,
      );
    }
  }
  return node;
}

export function parseQueryRequest(raw: unknown): QueryRequest {
  if (!isRecord(raw)) throw formatError('a query request must be an object');
  if (raw.lookup_from !== undefined && raw.lookup_from !== null)
    throw badRequest('lookup_from is not supported by qdrant-local');
  return {
    ...parseNode(raw, 0),
    offset: optionalUint(raw.offset, 'offset') ?? 0,
    withPayload: parsePayloadSelector(raw.with_payload, false),
    withVector: parseWithVector(raw.with_vector),
  };
}
