import { Env, extendBase } from '@kb/config';
import { EmbeddingEnv } from '@kb/embeddings';
import { type Static, Type } from '@sinclair/typebox';

export const INGEST_ROLES = ['api', 'consumer', 'worker'] as const;
export type IngestRole = (typeof INGEST_ROLES)[number];

export const IngestionEnv = extendBase({
  KB_MONGO_URL: Env.mongoUrl(),
  KB_REDIS_URL: Env.redisUrl(),
  KB_QDRANT_URL: Env.qdrantUrl(),
  KB_QDRANT_API_KEY: Type.Optional(Type.String({ minLength: 1 })),
  ...EmbeddingEnv,
  /**
   * What this process does (comma-separated): `api` answers the document operations, `consumer` takes
   * accepted uploads from JetStream into the fair queue, `worker` runs the pipeline, dispatcher and sweeper.
   */
  KB_INGEST_ROLES: Type.String({
    pattern: '^(api|consumer|worker)(,(api|consumer|worker))*$',
    default: 'api,consumer,worker',
  }),
  /** Documents processed at once by this process. */
  KB_INGEST_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 64, default: 4 }),
  /** Attempts per document version before it fails (transient errors only; bad content fails at once). */
  KB_INGEST_ATTEMPTS: Type.Integer({ minimum: 1, maximum: 50, default: 8 }),
  /** First retry delay; doubles with each attempt (2 s · 2^n: about 4 minutes over 8 attempts). */
  KB_INGEST_BACKOFF_MS: Type.Integer({ minimum: 10, maximum: 600_000, default: 2_000 }),
  /** A crashed worker's job is taken up again after this long. */
  KB_INGEST_LOCK_MS: Type.Integer({ minimum: 2_000, maximum: 600_000, default: 30_000 }),
  /**
   * Jobs kept waiting in BullMQ ahead of the fair queue (0: half the concurrency, at least 2). The dispatcher
   * refills it as each job settles, so a short queue keeps workers busy and lets newcomers start sooner.
   */
  KB_INGEST_DISPATCH_DEPTH: Type.Integer({ minimum: 0, maximum: 10_000, default: 0 }),
  /** How often stalled work is looked for, and after how long without change it counts as stalled. */
  KB_INGEST_SWEEP_MS: Type.Integer({ minimum: 500, maximum: 3_600_000, default: 15_000 }),
  KB_INGEST_STALE_MS: Type.Integer({ minimum: 1_000, maximum: 86_400_000, default: 60_000 }),
  /** A document making more chunks than this fails. */
  KB_INGEST_MAX_CHUNKS: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 50_000 }),
  /**
   * Worker threads the built-in local embedder computes on (0: the worker's own thread). Unset: one fewer
   * than the machine's cores, at least 1 and at most 4, so embedding runs beside the rest of the pipeline.
   */
  KB_INGEST_EMBED_THREADS: Type.Optional(Type.Integer({ minimum: 0, maximum: 64 })),
  /** Chunks embedded and upserted per batch. */
  KB_INGEST_BATCH: Type.Integer({ minimum: 1, maximum: 2_048, default: 64 }),
  /** Prefix of the Redis keys (BullMQ queues, fair queue) and durable consumer names; tests isolate with it. */
  KB_INGEST_QUEUE_PREFIX: Type.String({ pattern: '^[a-z][a-z0-9-]{0,31}$', default: 'kb' }),
});

export type IngestionConfig = Static<typeof IngestionEnv>;

/** KB_INGEST_EMBED_THREADS, or what it defaults to on a machine of `cores` cores. */
export const embedThreadsOf = (config: IngestionConfig, cores: number): number =>
  config.KB_INGEST_EMBED_THREADS ?? Math.min(4, Math.max(1, cores - 1));

export const rolesOf = (config: IngestionConfig): Set<IngestRole> =>
  new Set(config.KB_INGEST_ROLES.split(',') as IngestRole[]);
