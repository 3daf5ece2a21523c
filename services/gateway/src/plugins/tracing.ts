import { PLAN_NAMES } from '@kb/contracts';
import { adoptTenant, boundedLabel, DURATION_BUCKETS_S, type TenantRef } from '@kb/telemetry';
import {
  context,
  metrics,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { getRPCMetadata, RPCType } from '@opentelemetry/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    span: Span | undefined;
  }
}

const tracer = trace.getTracer('@kb/gateway');
/** Requests whose trace has its tenant (or was settled without one). */
const settled = new WeakSet<FastifyRequest>();
/** Spans this plugin opened itself (no HTTP instrumentation in the process) and must end. */
const owned = new WeakSet<Span>();

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
 * The request's server span is the HTTP instrumentation's (libs/telemetry): this plugin names it after the
 * route, keeps it on the request, answers with its `traceparent` (once the sampling decision is made, so the
 * flag is final) and `x-request-id`, logs one line per request and records the request metrics:
 * `http.server.request.duration` {http_request_method, http_route, http_response_status_code, plan} (plan is
 * the only tenant label: four values, whatever the number of tenants). Health, readiness, metrics and docs
 * are never settled, so they leave no trace behind.
 */
export function registerTracing(app: FastifyInstance): void {
  app.decorateRequest('span', undefined);
  const duration = metrics.getMeter('@kb/gateway').createHistogram('http.server.request.duration', {
    description: 'Time to answer an HTTP request, by route and status',
    unit: 's',
    advice: { explicitBucketBoundaries: DURATION_BUCKETS_S },
  });

  app.addHook('onRequest', async (request, reply) => {
    const route = request.routeOptions.url;
    const rpc = getRPCMetadata(context.active());
    if (rpc?.type === RPCType.HTTP && route) rpc.route = route;
    let span = trace.getSpan(context.active());
    if (!span) {
      // Without the HTTP instrumentation (an app built in a test), the plugin opens the server span itself.
      span = tracer.startSpan(
        `${request.method} ${route ?? 'unmatched'}`,
        { kind: SpanKind.SERVER, attributes: { 'http.request.method': request.method } },
        propagation.extract(ROOT_CONTEXT, request.headers),
      );
      owned.add(span);
    }
    request.span = span;
    span.setAttribute('kb.request_id', request.id);
    reply.header('x-request-id', request.id);
  });

  app.addHook('onSend', async (request, reply, payload) => {
    if (!isProbe(request)) settleRequestTrace(request, null);
    if (request.span) {
      const carrier: Record<string, string> = {};
      propagation.inject(trace.setSpan(ROOT_CONTEXT, request.span), carrier);
      if (carrier.traceparent) reply.header('traceparent', carrier.traceparent);
    }
    return payload;
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    request.log.info(
      { method: request.method, route, status: reply.statusCode, took_ms: Math.round(reply.elapsedTime) },
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
  });
}

/** Routes answered without a credential for machines (health, readiness, metrics, OpenAPI, docs). */
function isProbe(request: FastifyRequest): boolean {
  return request.routeOptions.config.public === true || (request.routeOptions.url ?? '').startsWith('/docs');
}

/** Runs `fn` with the request's span active, so bus calls made inside it join the request's trace. */
export function inRequestSpan<T>(request: FastifyRequest, fn: () => Promise<T>): Promise<T> {
  const span = request.span;
  return span ? context.with(trace.setSpan(context.active(), span), fn) : fn();
}
