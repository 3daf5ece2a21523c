import type { FastifyInstance } from 'fastify';
import helmet from 'helmet';

/**
 * Helmet's security headers on every answer (HSTS, nosniff, frame and referrer policies, …). The API serves
 * JSON only, so no content security policy. The middleware is built once, at start-up: building it per
 * request, as @fastify/helmet does, cost more than the rest of a cached-key request's authentication.
 */
export function registerSecurityHeaders(app: FastifyInstance): void {
  const apply = helmet({ contentSecurityPolicy: false });
  app.addHook('onRequest', (request, reply, done) => {
    apply(request.raw, reply.raw, (error?: unknown) => done(error instanceof Error ? error : undefined));
  });
}
