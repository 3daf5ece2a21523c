import { createRequester } from '@kb/bus';
import { runService } from '@kb/runtime';
import { closeRedis, connectRedis } from '@kb/store';
import { buildGateway } from '../services/gateway/src/app.ts';
import { createKeyCache } from '../services/gateway/src/auth/key-cache.ts';
import { GatewayEnv } from '../services/gateway/src/config.ts';
import { parsePlanRates } from '../services/gateway/src/limits/index.ts';

/**
 * The gateway wired as its main.ts wires it, with API-call metering on, or off when BENCH_METERING=off, so
 * metering.bench.ts compares two processes that differ in nothing else. Not for production: metering is
 * how usage is billed.
 */
const metering = process.env.BENCH_METERING !== 'off';

await runService({
  name: 'gateway',
  packageJson: new URL('../services/gateway/package.json', import.meta.url),
  env: GatewayEnv,
  async start({ config, log, nc, shutdown, signer, version }) {
    const redis = await connectRedis(config.KB_REDIS_URL, log);
    shutdown.register('close', 'redis', () => closeRedis(redis));
    const app = await buildGateway({
      log,
      nc,
      redis,
      request: createRequester(nc, { timeoutMs: config.KB_REQUEST_TIMEOUT_MS }),
      signer,
      keyCache: createKeyCache({ ttlMs: config.KB_KEY_CACHE_TTL_MS }),
      revokedKeyIds: new Set(),
      masterKey: config.KB_MASTER_KEY,
      contextSecret: config.KB_CONTEXT_SECRET,
      version,
      metering,
      rateLimits: { perPlan: parsePlanRates(config.KB_RATE_LIMIT_OVERRIDE) },
    });
    shutdown.register('intake', 'http', () => app.close());
    await app.listen({ host: config.KB_GATEWAY_HOST, port: config.KB_GATEWAY_PORT });
  },
});
