import { badRequest, formatError, isRecord } from './errors.js';

export type Distance = 'Cosine' | 'Dot' | 'Euclid' | 'Manhattan';

const DISTANCES: readonly Distance[] = ['Cosine', 'Dot', 'Euclid', 'Manhattan'];

export interface DenseParams {
  size: number;
  distance: Distance;
  /** Accepted but unused storage hints (on_disk, datatype, hnsw_config, ...), echoed back in collection info. */
  extra: Record<string, unknown>;
}

export interface SparseParams {
  modifier: 'none' | 'idf';
  extra: Record<string, unknown>;
}

export interface CollectionConfig {
  /** True when `vectors` was a single VectorParams: the only dense vector is then named "". */
  unnamed: boolean;
  dense: Record<string, DenseParams>;
  sparse: Record<string, SparseParams>;
  /** Collection-level settings the engine accepts and echoes (hnsw_config, optimizers_config, ...). */
  extra: Record<string, unknown>;
}

/** Qdrant refuses these characters in collection names (they would break paths on disk). */
const FORBIDDEN_NAME = /[<>:"/\\|?*\0]/;

export function validateCollectionName(name: string): void {
  if (name.length === 0 || name.length > 255 || FORBIDDEN_NAME.test(name) || name === '.' || name === '..') {
    throw badRequest(
      `Validation error in path parameters: [name: collection name ${JSON.stringify(name)} is invalid]`,
    );
  }
}

function parseDense(name: string, value: unknown): DenseParams {
  if (!isRecord(value)) throw formatError(`vector params for ${JSON.stringify(name)} must be an object`);
  const { size, distance, ...extra } = value;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 1 || size > 65_536) {
    throw badRequest(
      `Validation error in JSON body: [vectors.size: value ${JSON.stringify(size)} invalid, must be 1 or more]`,
    );
  }
  if (typeof distance !== 'string' || !DISTANCES.includes(distance as Distance)) {
    throw formatError(
      `unknown variant \`${String(distance)}\`, expected one of \`Cosine\`, \`Euclid\`, \`Dot\`, \`Manhattan\``,
    );
  }
  if (extra.multivector_config !== undefined && extra.multivector_config !== null) {
    throw badRequest('multivector_config is not supported by qdrant-local');
  }
  return { size, distance: distance as Distance, extra };
}

function parseSparse(name: string, value: unknown): SparseParams {
  const record = value ?? {};
  if (!isRecord(record))
    throw formatError(`sparse vector params for ${JSON.stringify(name)} must be an object`);
  const { modifier, ...extra } = record;
  if (modifier !== undefined && modifier !== null && modifier !== 'none' && modifier !== 'idf') {
    throw formatError(`unknown variant \`${String(modifier)}\`, expected \`none\` or \`idf\``);
  }
  return { modifier: modifier === 'idf' ? 'idf' : 'none', extra };
}

export function parseCreateCollection(body: unknown): CollectionConfig {
  const value = body ?? {};
  if (!isRecord(value)) throw formatError('expected an object');
  const { vectors, sparse_vectors: sparseVectors, ...extra } = value;
  const dense: Record<string, DenseParams> = {};
  let unnamed = false;
  if (isRecord(vectors) && 'size' in vectors && 'distance' in vectors) {
    unnamed = true;
    dense[''] = parseDense('', vectors);
  } else if (isRecord(vectors)) {
    for (const [name, params] of Object.entries(vectors)) {
      if (name === '') throw badRequest('vector name must not be empty');
      dense[name] = parseDense(name, params);
    }
  } else if (vectors !== undefined && vectors !== null) {
    throw formatError('`vectors` must be VectorParams or a map of named VectorParams');
  }
  const sparse: Record<string, SparseParams> = {};
  if (sparseVectors !== undefined && sparseVectors !== null) {
    if (!isRecord(sparseVectors))
      throw formatError('`sparse_vectors` must be a map of named SparseVectorParams');
    for (const [name, params] of Object.entries(sparseVectors)) {
      if (name in dense)
        throw badRequest(`vector name ${JSON.stringify(name)} is used by a dense and a sparse vector`);
      sparse[name] = parseSparse(name, params);
    }
  }
  return { unnamed, dense, sparse, extra };
}

function denseInfo(params: DenseParams): Record<string, unknown> {
  return { size: params.size, distance: params.distance, ...params.extra };
}

/** The `config` block of collection info, in Qdrant's shape with its default values. */
export function renderConfig(config: CollectionConfig): Record<string, unknown> {
  const vectors = config.unnamed
    ? denseInfo(config.dense[''] as DenseParams)
    : Object.fromEntries(Object.entries(config.dense).map(([name, params]) => [name, denseInfo(params)]));
  const params: Record<string, unknown> = {
    vectors,
    shard_number: 1,
    replication_factor: 1,
    write_consistency_factor: 1,
    on_disk_payload: true,
  };
  const sparseNames = Object.keys(config.sparse);
  if (sparseNames.length > 0) {
    params.sparse_vectors = Object.fromEntries(
      Object.entries(config.sparse).map(([name, p]) => [
        name,
        { ...p.extra, ...(p.modifier === 'idf' ? { modifier: 'idf' } : {}) },
      ]),
    );
  }
  return {
    params,
    hnsw_config: {
      m: 16,
      ef_construct: 100,
      full_scan_threshold: 10_000,
      max_indexing_threads: 0,
      on_disk: false,
    },
    optimizer_config: {
      deleted_threshold: 0.2,
      vacuum_min_vector_number: 1000,
      default_segment_number: 0,
      max_segment_size: null,
      memmap_threshold: null,
      indexing_threshold: 10_000,
      flush_interval_sec: 5,
      max_optimization_threads: null,
    },
    wal_config: { wal_capacity_mb: 32, wal_segments_ahead: 0 },
    quantization_config: null,
    strict_mode_config: { enabled: false },
  };
}
