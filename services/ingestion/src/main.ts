import { availableParallelism } from 'node:os';
import { createPublisher, createRequester, ensureStreams } from '@kb/bus';
import { createEmbedder, createSparseEncoder } from '@kb/embeddings';
import { runService } from '@kb/runtime';
import { closeRedis, connectMongo, connectRedis, createRedisLeases, useDocumentLeases } from '@kb/store';
import { createQdrantClient } from '@kb/vector-store';
import { jetstreamManager } from '@nats-io/jetstream';
import { embedThreadsOf, IngestionEnv, rolesOf } from './config.js';
import { consumeIngestRequests, consumeWorkspaceDeletions } from './consumers/ingest.js';
import { createDocumentEvents } from './domain/events.js';
import { createSettingsSource } from './domain/settings.js';
import { createDeletedWorkspaces } from './domain/tombstones.js';
import { startSweeper } from './maintenance/sweeper.js';
import type { PipelineDeps } from './pipeline/deps.js';
import { startDispatcher } from './queue/dispatcher.js';
import { createFairQueue } from './queue/fair.js';
import { observeQueueDepth } from './queue/metrics.js';
import { createQueues } from './queue/queues.js';
import { startWorkers } from './queue/workers.js';
import { buildIngestionService } from './service.js';
import { createStores } from './store/documents.js';
import { openUploads } from './store/uploads.js';
import { createVectorWriter } from './store/vectors.js';

await runService({
  name: 'ingestion',
  packageJson: new URL('../package.json', import.meta.url),
  env: IngestionEnv,
  async start({ config, nc, log, verifier, signer, version, instance, shutdown }) {
    const roles = rolesOf(config);
    await ensureStreams(await jetstreamManager(nc));
    const prefix = config.KB_INGEST_QUEUE_PREFIX;
    // Producers fail fast while Redis restarts (callers retry); workers block and retry forever.
    const [mongo, redis, blocking] = await Promise.all([
      connectMongo(config.KB_MONGO_URL, log),
      connectRedis(config.KB_REDIS_URL, log),
      connectRedis(config.KB_REDIS_URL, log, { blocking: true }),
    ]);
    shutdown.register('close', 'mongodb', () => mongo.close());
    shutdown.register('close', 'redis', () => Promise.all([closeRedis(redis), closeRedis(blocking)]));

    // The API and the workers write the same records, maybe from several processes (@kb/store leases.ts).
    useDocumentLeases(mongo, createRedisLeases(redis, { prefix: `kb:${mongo.name}` }));
    const stores = await createStores(mongo);
    const workspaces = createDeletedWorkspaces(stores);
    // Only the pipeline embeds: the API and consumer roles never start the embedder's threads.
    const embedThreads = roles.has('worker') ? embedThreadsOf(config, availableParallelism()) : 0;
    const embedder = createEmbedder(config, { threads: embedThreads });
    shutdown.register('close', 'embedder', () => embedder.close?.());
    const vectors = createVectorWriter(
      createQdrantClient({
        url: config.KB_QDRANT_URL,
        ...(config.KB_QDRANT_API_KEY ? { apiKey: config.KB_QDRANT_API_KEY } : {}),
      }),
      embedder.dimension,
    );
    const queues = createQueues(redis, {
      prefix,
      attempts: config.KB_INGEST_ATTEMPTS,
      backoffMs: config.KB_INGEST_BACKOFF_MS,
    });
    shutdown.register('close', 'queues', () => queues.close());
    const fair = createFairQueue(redis, prefix);
    shutdown.register('intake', 'queue-metrics', observeQueueDepth(queues, fair));
    const uploads = await openUploads(nc);
    const deps: PipelineDeps = {
      stores,
      workspaces,
      uploads,
      vectors,
      embedder,
      sparse: createSparseEncoder(),
      events: createDocumentEvents(createPublisher(nc), signer),
      log,
      batchSize: config.KB_INGEST_BATCH,
      maxChunks: config.KB_INGEST_MAX_CHUNKS,
    };

    let poke = () => {};
    if (roles.has('worker')) {
      const dispatcher = startDispatcher({
        fair,
        queues,
        depth: config.KB_INGEST_DISPATCH_DEPTH || Math.max(2, Math.ceil(config.KB_INGEST_CONCURRENCY / 2)),
        log,
      });
      poke = dispatcher.poke;
      const workers = startWorkers(blocking, deps, {
        prefix,
        concurrency: config.KB_INGEST_CONCURRENCY,
        lockMs: config.KB_INGEST_LOCK_MS,
        log,
        onSettled: poke,
        version,
      });
      const sweeper = startSweeper({
        deps,
        queues,
        fair,
        redis,
        prefix,
        instance,
        log,
        intervalMs: config.KB_INGEST_SWEEP_MS,
        staleMs: config.KB_INGEST_STALE_MS,
        onRequeued: poke,
      });
      shutdown.register('intake', 'workers', async () => {
        await Promise.all([dispatcher.stop(), sweeper.stop()]);
        await workers.close();
      });
    }
    if (roles.has('consumer')) {
      const consumerDeps = {
        stores,
        fair,
        queues,
        verifier,
        log,
        onQueued: () => poke(),
        durablePrefix: prefix === 'kb' ? '' : `${prefix}-`,
      };
      const consumers = await Promise.all([
        consumeIngestRequests(nc, consumerDeps),
        consumeWorkspaceDeletions(nc, consumerDeps),
      ]);
      shutdown.register('intake', 'consumers', () => Promise.all(consumers.map((c) => c.stop())));
    }
    if (roles.has('api')) {
      const served = await buildIngestionService({
        nc,
        log,
        verifier,
        version,
        instance,
        handlerDeps: {
          stores,
          workspaces,
          settings: createSettingsSource(createRequester(nc), signer),
          vectors,
          queues,
          fair,
          onQueued: () => poke(),
          log,
        },
      });
      shutdown.register('intake', 'nats-service', () => served.stop());
    }
    log.info(
      {
        roles: [...roles],
        embedder: embedder.id,
        dimension: embedder.dimension,
        // The built-in embedder's threads; another provider computes elsewhere.
        embed_threads: config.KB_EMBEDDER === 'local' ? embedThreads : 0,
      },
      'ingestion started',
    );
  },
});
