import { AppError } from '@kb/errors';
import type { Logger } from '@kb/log';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import type { Principal } from '../auth/principal.js';
import { routeInfo } from '../plugins/route.js';
import { inRequestSpan } from '../plugins/tracing.js';
import { type RateLimitSettings, requestsPerMinute } from './settings.js';
import { sharedWindows, type Window } from './shared-windows.js';

/** Routes nobody is limited on: health, readiness, metrics, the OpenAPI document and docs. */
export const isExempt = (request: FastifyRequest): boolean => routeInfo(request).exempt;

interface Limit {
  max: number;
  remaining: number;
  resetS: number;
  exceeded: boolean;
}

const limitOf = (window: Window, max: number): Limit => ({
  max,
  remaining: Math.max(0, max - window.current),
  resetS: Math.max(1, Math.ceil(window.ttl / 1000)),
  exceeded: window.current > max,
});

/** Applies `fn` to a value that may or may not be a promise, staying synchronous when it is not. */
function then<T, R>(value: T | Promise<T>, fn: (value: T) => R | Promise<R>): R | Promise<R> {
  return value instanceof Promise ? value.then(fn) : fn(value);
}

/**
 * Fixed-window rate limits shared by every gateway replica through Redis (shared-windows.ts: counted
 * locally, sent in batches, exact near the limit, so a request far from its limits costs no Redis call):
 * - per key (the principal's `kid`; a search token counts against the key that issued it): the plan's
 *   `requests_per_minute`;
 * - per organization, across all its keys: `orgFactor` times that, so one busy key cannot use it all up;
 * - per client address, for unauthenticated requests (no credential, or one that was refused with 401):
 *   once an address has made `anonymousPerWindow` of them it is refused before any credential lookup
 *   until the window ends. Behind a proxy, set Fastify's `trustProxy` so the address is the client's.
 *   The check before the lookup reads what this replica knows, so a replica that has not yet refused an
 *   address lets one more unauthenticated request of it through, and learns the shared count from it.
 * The operator's master key is not limited. Refusals are 429 `rate-limited` problems with `Retry-After`;
 * every limited answer carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (the tighter
 * of the key's and the organization's windows).
 *
 * The limiter calls the windows itself rather than through @fastify/rate-limit: the windows decide, and the
 * plugin's per-call promises and key/limit callbacks were most of the cost of a request's limits.
 *
 * If Redis is unreachable the gateway fails open to memory (shared-windows.ts): it keeps answering, and each
 * replica enforces the same limits on its own until Redis is back. Refusing everything (503) would turn a
 * Redis outage into a platform outage, and skipping the limits would leave the services unprotected.
 */
export function registerRateLimits(
  app: FastifyInstance,
  deps: { redis: Redis; log: Logger; settings: RateLimitSettings },
): void {
  const { settings } = deps;
  const windowMs = settings.windowMs;
  const windowS = Math.round(windowMs / 1000);
  const windows = sharedWindows({ redis: deps.redis, prefix: 'kb:ratelimit:', log: deps.log });
  app.addHook('onClose', () => windows.stop());
  const perKeyMax = (principal: Principal) =>
    requestsPerMinute(settings, 'plan' in principal ? principal.plan : 'free');

  app.addHook('onRequest', (request, reply, done) => {
    if (isExempt(request)) return done();
    const max = settings.anonymousPerWindow;
    const window = windows.peek(`ip:${request.ip}`);
    if (window.ttl > 0 && window.current >= max) {
      return done(
        refusal(reply, limitOf(window, max), 'too many unauthenticated requests from this address', windowS),
      );
    }
    done();
  });

  const limited = new WeakSet<FastifyRequest>();
  function limitPrincipal(request: FastifyRequest, reply: FastifyReply): void | Promise<void> {
    const principal = request.principal;
    if (limited.has(request) || isExempt(request) || !principal || principal.kind === 'operator') return;
    limited.add(request);
    const keyMax = perKeyMax(principal);
    return then(windows.hit(`key:${principal.kid}`, windowMs, keyMax), (keyWindow) => {
      const key = limitOf(keyWindow, keyMax);
      if (key.exceeded) throw refusal(reply, key, 'this key has made too many requests', windowS);
      // Only requests the key may make count against its organization.
      const orgMax = Math.floor(keyMax * settings.orgFactor);
      return then(windows.hit(`org:${principal.org}`, windowMs, orgMax), (orgWindow) => {
        const org = limitOf(orgWindow, orgMax);
        if (org.exceeded)
          throw refusal(reply, org, "this key's organization has made too many requests", windowS);
        setHeaders(reply, org.remaining < key.remaining ? org : key);
      });
    });
  }
  /** As a callback hook: no promise for the requests the windows answer at once. */
  const limitHook = (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) => {
    try {
      // A count this replica must first share through Redis is made inside the request's trace.
      const pending = inRequestSpan(request, () => limitPrincipal(request, reply));
      if (pending) pending.then(() => done(), done);
      else done();
    } catch (error) {
      done(error as Error);
    }
  };
  // Routes that authenticate in their own onRequest hook (uploads) are limited before their body is read;
  // the others right after authentication (registered after it), before the handler.
  app.addHook('preParsing', (request, reply, payload, done) =>
    limitHook(request, reply, (error) => (error ? done(error) : done(null, payload))),
  );
  app.addHook('preHandler', limitHook);

  app.addHook('onResponse', (request, reply, done) => {
    if (reply.statusCode === 401 && !isExempt(request)) {
      const counted = windows.hit(`ip:${request.ip}`, windowMs, settings.anonymousPerWindow);
      if (counted instanceof Promise) {
        counted.catch((error: unknown) =>
          request.log.warn({ err: error }, 'could not count an unauthenticated request'),
        );
      }
    }
    done();
  });
}

function setHeaders(reply: FastifyReply, limit: Limit): void {
  reply.header('ratelimit-limit', limit.max);
  reply.header('ratelimit-remaining', limit.remaining);
  reply.header('ratelimit-reset', limit.resetS);
}

function refusal(reply: FastifyReply, limit: Limit, why: string, windowS: number): AppError {
  setHeaders(reply, { ...limit, remaining: 0 });
  const detail = `${why} (limit ${limit.max} per ${windowS} s); retry in ${limit.resetS} s`;
  return new AppError('rate-limited', detail, { retryAfter: limit.resetS });
}
