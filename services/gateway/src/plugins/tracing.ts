import { context, propagation, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    span: Span | undefined;
  }
}

const tracer = trace.getTracer('@kb/gateway');

/**
 * One server span per request, continuing an incoming `traceparent`; the response carries the span's own
 * `traceparent` and `x-request-id`, so a client can hand either to an operator.
 */
export function registerTracing(app: FastifyInstance): void {
  app.decorateRequest('span', undefined);
  app.addHook('onRequest', async (request, reply) => {
    const parent = propagation.extract(context.active(), request.headers);
    request.span = tracer.startSpan(
      `${request.method} ${request.routeOptions.url ?? 'unmatched'}`,
      { kind: SpanKind.SERVER },
      parent,
    );
    request.span.setAttributes({ 'http.request.method': request.method, 'kb.request_id': request.id });
    const carrier: Record<string, string> = {};
    propagation.inject(trace.setSpan(context.active(), request.span), carrier);
    if (carrier.traceparent) reply.header('traceparent', carrier.traceparent);
    reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      {
        method: request.method,
        route: request.routeOptions.url,
        status: reply.statusCode,
        took_ms: Math.round(reply.elapsedTime),
      },
      'request',
    );
    request.span?.setAttribute('http.response.status_code', reply.statusCode);
    if (reply.statusCode >= 500) request.span?.setStatus({ code: SpanStatusCode.ERROR });
    request.span?.end();
  });
}

/** Runs `fn` with the request's span active, so bus calls made inside it join the request's trace. */
export function inRequestSpan<T>(request: FastifyRequest, fn: () => Promise<T>): Promise<T> {
  const span = request.span;
  return span ? context.with(trace.setSpan(context.active(), span), fn) : fn();
}
