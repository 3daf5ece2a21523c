import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerOptions,
  type ServerResponse,
} from 'node:http';
import { PLAN_NAMES } from '@kb/contracts';
import { adoptTenant, boundedLabel, DURATION_BUCKETS_S, type TenantRef } from '@kb/telemetry';
import {
  context,
  isSpanContextValid,
  metrics,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest, FastifyServerOptions } from 'fastify';
import { principalLogFields } from '../auth/principal.js';
import { routeInfo } from './route.js';

declare module 'fastify' {
  interface FastifyRequest {
    span: Span | undefined;
  }
}

const tracer = trace.getTracer('@kb/gateway');
/** Requests whose trace has its tenant (or was settled without one). */
const settled = new WeakSet<FastifyRequest>();
/** Request spans this module opened: named, finished and ended here. */
const owned = new WeakSet<Span>();
/** The span opened for a raw request before Fastify saw it. */
const spanOfRaw = new WeakMap<IncomingMessage, Span>();

/** A new request span, continuing the client's trace context (its trace id; it cannot force sampling). */
function openRequestSpan(method: string, headers: IncomingHttpHeaders, name = method): Span {
  const span = tracer.startSpan(
    name,
    { kind: SpanKind.SERVER, attributes: { 'http.request.method': method } },
    headers.traceparent === undefined && headers.baggage === undefined
      ? ROOT_CONTEXT
      : propagation.extract(ROOT_CONTEXT, headers),
  );
  owned.add(span);
  return span;
}

/**
 * Fastify's `serverFactory`: the HTTP server, with each request's server span opened here and made the
 * active context for the synchronous part of its handling. The gateway opens these spans itself rather than
 * through the generic HTTP instrumentation (disabled for incoming requests in libs/telemetry), which also
 * wraps every request's and response's event emitters and computes attributes the platform does not use: it
 * cost about a quarter of a cached-key request.
 *
 * The gateway's active context does not follow asynchronous work (libs/telemetry SyncContextManager): what
 * must join the request's trace later (bus calls, publishes) runs inside `inRequestSpan`, and the request's
 * log lines carry its trace ids from `childLoggerFactory`.
 */
export function tracedServerFactory(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  options: {
    http?: ServerOptions;
    keepAliveTimeout?: number;
    requestTimeout?: number;
    connectionTimeout?: number;
  },
): Server {
  const server = createServer(options.http ?? {}, (req, res) => {
    const span = openRequestSpan(req.method ?? 'GET', req.headers);
    spanOfRaw.set(req, span);
    context.with(trace.setSpan(context.active(), span), () => handler(req, res));
  });
  if (options.keepAliveTimeout !== undefined) server.keepAliveTimeout = options.keepAliveTimeout;
  if (options.requestTimeout !== undefined) server.requestTimeout = options.requestTimeout;
  if (options.connectionTimeout !== undefined) server.setTimeout(options.connectionTimeout);
  return server;
}

/**
 * Fastify's `childLoggerFactory`: each request's logger, bound to its trace and span ids (besides the request
 * id), so every line the request logs names its trace wherever in its handling it is logged. Requests
 * injected without a server get their span here.
 */
export const childLoggerFactory: NonNullable<FastifyServerOptions['childLoggerFactory']> = (
  logger,
  bindings,
  options,
  raw,
) => {
  const request = raw as IncomingMessage;
  let span = spanOfRaw.get(request);
  if (!span) {
    span = openRequestSpan(request.method ?? 'GET', request.headers);
    spanOfRaw.set(request, span);
  }
  const spanContext = span.spanContext();
  if (!isSpanContextValid(spanContext)) return logger.child(bindings, options);
  return logger.child({ ...bindings, trace_id: spanContext.traceId, span_id: spanContext.spanId }, options);
};

/**
 * Names the request's trace after its credential: tags the request span with the tenant and makes the
 * sampling decision left open when the request arrived (libs/telemetry `adoptTenant`). `null`: the request
 * has no tenant (the operator, or a refused credential), so the base ratio decides.
 */
export function settleRequestTrace(request: FastifyRequest, tenant: TenantRef | null): void {
  if (settled.has(request)) return;
  settled.add(request);
  adoptTenant(request.span, tenant);
}

/**
 * Each request's server span (opened by `tracedServerFactory`, or here for requests injected without a
 * server): this plugin names it after the route, keeps it on the request, answers with its `traceparent`
 * (once the sampling decision is made, so the flag is final) and `x-request-id`, logs one line per request
 * and records the request metrics: `http.server.request.duration` {http_request_method, http_route,
 * http_response_status_code, plan} (plan is the only tenant label: four values, whatever the number of
 * tenants). Health, readiness, metrics and docs are never settled, so they leave no trace behind.
 */
export function registerTracing(app: FastifyInstance): void {
  app.decorateRequest('span', undefined);
  const duration = metrics.getMeter('@kb/gateway').createHistogram('http.server.request.duration', {
    description: 'Time to answer an HTTP request, by route and status',
    unit: 's',
    advice: { explicitBucketBoundaries: DURATION_BUCKETS_S },
  });

  app.addHook('onRequest', (request, reply, done) => {
    const route = routeInfo(request).url;
    const name = `${request.method} ${route}`;
    let span = spanOfRaw.get(request.raw);
    if (span) span.updateName(name);
    else span = openRequestSpan(request.method, request.headers, name);
    request.span = span;
    span.setAttributes({
      'http.route': route,
      'url.path': request.url.split('?', 1)[0] as string,
      'kb.request_id': request.id,
    });
    reply.header('x-request-id', request.id);
    done();
  });

  app.addHook('onSend', (request, reply, payload, done) => {
    if (!routeInfo(request).probe) settleRequestTrace(request, null);
    const traceparent = request.span ? traceparentOf(request.span) : null;
    if (traceparent) reply.header('traceparent', traceparent);
    done(null, payload);
  });

  app.addHook('onResponse', (request, reply, done) => {
    const route = routeInfo(request).url;
    request.log.info(
      {
        method: request.method,
        route,
        status: reply.statusCode,
        took_ms: Math.round(reply.elapsedTime),
        ...principalLogFields(request),
      },
      'request',
    );
    const principal = request.principal;
    duration.record(reply.elapsedTime / 1000, {
      'http.request.method': request.method,
      'http.route': route,
      'http.response.status_code': reply.statusCode,
      plan: boundedLabel(principal && 'plan' in principal ? principal.plan : undefined, PLAN_NAMES),
    });
    const span = request.span;
    if (span && owned.has(span)) {
      span.setAttribute('http.response.status_code', reply.statusCode);
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
    done();
  });
}

/** The W3C `traceparent` of a span (what the propagator would write), or null for an invalid one. */
function traceparentOf(span: Span): string | null {
  const { traceId, spanId, traceFlags } = span.spanContext();
  if (!isSpanContextValid(span.spanContext())) return null;
  return `00-${traceId}-${spanId}-${(traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/**
 * Runs `fn` with the request's span active, so that the bus calls, publishes and instrumented library calls
 * it makes synchronously join the request's trace (the active context does not follow an `await`).
 */
export function inRequestSpan<T>(request: FastifyRequest, fn: () => T): T {
  const span = request.span;
  if (!span || trace.getActiveSpan() === span) return fn();
  return context.with(trace.setSpan(context.active(), span), fn);
}
