import rateLimit from '@fastify/rate-limit';
import { AppError } from '@kb/errors';
import type { Logger } from '@kb/log';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { fallbackStore } from './fallback-store.js';
import { type RateLimitSettings, requestsPerMinute } from './settings.js';

/** Routes nobody is limited on: health, readiness, metrics, the OpenAPI document and docs. */
export const isExempt = (request: FastifyRequest): boolean =>
  request.routeOptions.config.public === true ||
  request.is404 ||
  (request.routeOptions.url ?? '').startsWith('/docs');

interface Window {
  max: number;
  remaining: number;
  resetS: number;
}

/**
 * Fixed-window rate limits in Redis, through @fastify/rate-limit's limiters (`createRateLimit`), so every
 * gateway replica shares the counts:
 * - per key (the principal's `kid`; a search token counts against the key that issued it): the plan's
 *   `requests_per_minute`;
 * - per organization, across all its keys: `orgFactor` times that, so one busy key cannot use it all up;
 * - per client address, for unauthenticated requests (no credential, or one that was refused with 401):
 *   once an address has made `anonymousPerWindow` of them it is refused before any credential lookup
 *   until the window ends. Behind a proxy, set Fastify's `trustProxy` so the address is the client's.
 * The operator's master key is not limited. Refusals are 429 `rate-limited` problems with `Retry-After`;
 * every limited answer carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (the tighter
 * of the key's and the organization's windows).
 *
 * If Redis is unreachable the gateway fails open to memory (fallback-store.ts): it keeps answering, and each
 * replica enforces the same limits on its own until Redis is back. Refusing everything (503) would turn a
 * Redis outage into a platform outage, and skipping the limits would leave the services unprotected.
 */
export async function registerRateLimits(
  app: FastifyInstance,
  deps: { redis: Redis; log: Logger; settings: RateLimitSettings },
): Promise<void> {
  const { settings } = deps;
  const windowS = Math.round(settings.windowMs / 1000);
  await app.register(rateLimit, {
    global: false,
    store: fallbackStore({ redis: deps.redis, prefix: 'kb:ratelimit:', log: deps.log }),
    // The store answers from memory when Redis cannot; this only guards against a fault of the store itself.
    skipOnError: true,
    timeWindow: settings.windowMs,
  });
  const planOf = (request: FastifyRequest) =>
    request.principal && 'plan' in request.principal ? request.principal.plan : 'free';
  const orgOf = (request: FastifyRequest) =>
    request.principal && 'org' in request.principal ? request.principal.org : 'none';
  const perKey = app.createRateLimit({
    keyGenerator: (request) => `key:${request.principal?.kid ?? 'none'}`,
    max: (request) => requestsPerMinute(settings, planOf(request)),
    timeWindow: settings.windowMs,
  });
  const perOrg = app.createRateLimit({
    keyGenerator: (request) => `org:${orgOf(request)}`,
    max: (request) => Math.floor(requestsPerMinute(settings, planOf(request)) * settings.orgFactor),
    timeWindow: settings.windowMs,
  });
  const perAddress = app.createRateLimit({
    keyGenerator: (request) => `ip:${request.ip}`,
    max: settings.anonymousPerWindow,
    timeWindow: settings.windowMs,
  });

  app.addHook('onRequest', async (request, reply) => {
    if (isExempt(request)) return;
    const address = windowOf(await perAddress(request, { increment: false }));
    if (address && address.remaining === 0) {
      refuse(reply, address, 'too many unauthenticated requests from this address', windowS);
    }
  });

  const limited = new WeakSet<FastifyRequest>();
  async function limitPrincipal(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const principal = request.principal;
    if (limited.has(request) || isExempt(request) || !principal || principal.kind === 'operator') return;
    limited.add(request);
    const key = windowOf(await perKey(request));
    if (key?.exceeded) refuse(reply, key, 'this key has made too many requests', windowS);
    const org = windowOf(await perOrg(request));
    if (org?.exceeded) refuse(reply, org, "this key's organization has made too many requests", windowS);
    const tighter = [key, org].filter((w): w is Window & { exceeded: boolean } => w !== null);
    tighter.sort((a, b) => a.remaining - b.remaining);
    if (tighter[0]) setHeaders(reply, tighter[0]);
  }
  // Routes that authenticate in their own onRequest hook (uploads) are limited before their body is read;
  // the others right after authentication (registered after it), before the handler.
  app.addHook('preParsing', async (request, reply, payload) => {
    await limitPrincipal(request, reply);
    return payload;
  });
  app.addHook('preHandler', limitPrincipal);

  app.addHook('onResponse', async (request, reply) => {
    if (reply.statusCode !== 401 || isExempt(request)) return;
    await perAddress(request).catch((error: unknown) =>
      request.log.warn({ err: error }, 'could not count an unauthenticated request'),
    );
  });
}

type LimiterResult = Awaited<ReturnType<ReturnType<FastifyInstance['createRateLimit']>>>;

/** The window's state, or null when nothing is known (no limit applies, or Redis did not answer). */
function windowOf(result: LimiterResult): (Window & { exceeded: boolean }) | null {
  if (result.isAllowed || result.ttl <= 0) return null;
  return {
    max: result.max,
    remaining: result.remaining,
    resetS: result.ttlInSeconds,
    exceeded: result.isExceeded,
  };
}

function setHeaders(reply: FastifyReply, window: Window): void {
  reply.header('ratelimit-limit', window.max);
  reply.header('ratelimit-remaining', window.remaining);
  reply.header('ratelimit-reset', window.resetS);
}

function refuse(reply: FastifyReply, window: Window, why: string, windowS: number): never {
  setHeaders(reply, { ...window, remaining: 0 });
  const detail = `${why} (limit ${window.max} per ${windowS} s); retry in ${window.resetS} s`;
  throw new AppError('rate-limited', detail, { retryAfter: window.resetS });
}
