import { createRequester, ensureStreams } from '@kb/bus';
import type { ServiceDeps } from '@kb/runtime';
import { closeRedis, connectRedis } from '@kb/store';
import { jetstreamManager } from '@nats-io/jetstream';
import { buildGateway } from './app.js';
import { createKeyCache } from './auth/key-cache.js';
import { followRevocations } from './auth/revocations.js';
import type { GatewayConfig } from './config.js';
import { parsePlanRates } from './limits/index.js';

export interface StartOptions {
  /** API-call metering; only the metering benchmark turns it off, to measure what it costs. */
  metering?: boolean;
}

/** Connects, builds and starts the gateway as `main.ts` runs it (the metering benchmark reuses it). */
export async function startGateway(
  { config, log, nc, shutdown, signer, version, telemetry }: ServiceDeps<GatewayConfig>,
  options: StartOptions = {},
): Promise<void> {
  await ensureStreams(await jetstreamManager(nc));
  const redis = await connectRedis(config.KB_REDIS_URL, log);
  shutdown.register('close', 'redis', () => closeRedis(redis));
  const keyCache = createKeyCache({ ttlMs: config.KB_KEY_CACHE_TTL_MS });
  const revocations = followRevocations(nc, keyCache, log);
  const app = await buildGateway({
    log,
    nc,
    redis,
    request: createRequester(nc, { timeoutMs: config.KB_REQUEST_TIMEOUT_MS }),
    signer,
    keyCache,
    revokedKeyIds: revocations.revokedKeyIds,
    masterKey: config.KB_MASTER_KEY,
    contextSecret: config.KB_CONTEXT_SECRET,
    version,
    metrics: telemetry.metrics,
    bodyLimit: config.KB_BODY_LIMIT,
    uploadJsonLimit: config.KB_UPLOAD_JSON_LIMIT,
    ...(options.metering === false ? { metering: false } : {}),
    rateLimits: {
      perPlan: parsePlanRates(config.KB_RATE_LIMIT_OVERRIDE),
      orgFactor: config.KB_RATE_LIMIT_ORG_FACTOR,
      anonymousPerWindow: config.KB_RATE_LIMIT_ANONYMOUS,
    },
  });
  shutdown.register('intake', 'http', async () => {
    await app.close();
    revocations.stop();
  });
  const address = await app.listen({ host: config.KB_GATEWAY_HOST, port: config.KB_GATEWAY_PORT });
  log.info({ address }, 'gateway listening');
}
