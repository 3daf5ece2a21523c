import { ensureStreams } from '@kb/bus';
import { STREAMS } from '@kb/contracts';
import { runService } from '@kb/runtime';
import { closeRedis, connectMongo, connectRedis, createRedisLeases, useDocumentLeases } from '@kb/store';
import { jetstreamManager } from '@nats-io/jetstream';
import { UsageEnv } from './config.js';
import { buildUsageService } from './service.js';

await runService({
  name: 'usage',
  packageJson: new URL('../package.json', import.meta.url),
  env: UsageEnv,
  async start({ config, nc, log, verifier, signer, version, instance, shutdown }) {
    const [mongo, redis] = await Promise.all([
      connectMongo(config.KB_MONGO_URL, log),
      connectRedis(config.KB_REDIS_URL, log),
    ]);
    shutdown.register('close', 'mongodb', () => mongo.close());
    shutdown.register('close', 'redis', () => closeRedis(redis));
    // Replicas update the same rollups (@kb/store leases.ts).
    useDocumentLeases(mongo, createRedisLeases(redis, { prefix: `kb:${mongo.name}` }));
    // Usage events in; ingestion requests and document events read for activity; quota warnings out.
    await ensureStreams(await jetstreamManager(nc), [
      STREAMS.usage,
      STREAMS.ingest,
      STREAMS.events,
      STREAMS.deadLetter,
    ]);
    const usage = await buildUsageService({ nc, mongo, redis, log, verifier, signer, version, instance });
    shutdown.register('intake', 'nats-service-and-consumer', () => usage.stop());
  },
});
