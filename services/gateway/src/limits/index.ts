import {
  busUsagePublisher,
  createUsageMeter,
  type NatsConnection,
  type Requester,
  type UsageMeter,
} from '@kb/bus';
import type { Logger } from '@kb/log';
import type { ContextSigner } from '@kb/tenancy';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { registerMetering } from './metering.js';
import { createQuotaChecker, type QuotaChecker } from './quotas.js';
import { registerRateLimits } from './rate-limit.js';
import { DEFAULT_RATE_LIMITS, type RateLimitSettings } from './settings.js';

export type { QuotaChecker } from './quotas.js';
export { DEFAULT_RATE_LIMITS, parsePlanRates, type RateLimitSettings } from './settings.js';

export interface LimitsDeps {
  redis: Redis;
  nc: NatsConnection;
  signer: ContextSigner;
  request: Requester;
  log: Logger;
  settings?: Partial<RateLimitSettings>;
  /** How often metered API calls are published (default 1 s). */
  meterIntervalMs?: number;
  /** API-call metering (default on); benchmarks measure its cost by turning it off. */
  metering?: boolean;
}

/**
 * Rate limits, API-call metering and the quota checker. Register after authentication: the limits run in
 * `preHandler` and need the principal.
 */
export async function registerLimits(
  app: FastifyInstance,
  deps: LimitsDeps,
): Promise<{ quotas: QuotaChecker; meter: UsageMeter | null }> {
  registerRateLimits(app, {
    redis: deps.redis,
    log: deps.log,
    settings: { ...DEFAULT_RATE_LIMITS, ...deps.settings },
  });
  const quotas = createQuotaChecker(deps.request, deps.log);
  if (deps.metering === false) return { quotas, meter: null };
  const meter = createUsageMeter({
    metric: 'api_calls',
    publish: busUsagePublisher(deps.nc, deps.signer, 'gateway'),
    log: deps.log,
    ...(deps.meterIntervalMs ? { intervalMs: deps.meterIntervalMs } : {}),
  });
  registerMetering(app, meter);
  return { quotas, meter };
}
