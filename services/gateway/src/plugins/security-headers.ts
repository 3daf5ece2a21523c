import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';

/**
 * The headers Helmet sets with `options`. Without a content security policy every one of them is the same
 * for every answer, so they are read once, by running Helmet's middleware against a recording response.
 */
export function helmetHeaders(options: Readonly<HelmetOptions>): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: unknown) {
      headers[name.toLowerCase()] = String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  let finished = false;
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (error?: unknown) => {
    if (error) throw error;
    finished = true;
  });
  if (!finished) throw new Error('Helmet did not set its headers synchronously');
  return Object.freeze(headers);
}

/**
 * Helmet's security headers on every answer (HSTS, nosniff, frame and referrer policies, …). The API serves
 * JSON only, so no content security policy. They go through Fastify's reply headers rather than the raw
 * response: a header set on the raw response makes Node process every header of the answer twice.
 */
export function registerSecurityHeaders(app: FastifyInstance): void {
  const headers = helmetHeaders({ contentSecurityPolicy: false });
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(headers);
    done();
  });
}
