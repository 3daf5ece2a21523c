import type { Instrumentation } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { MongoDBInstrumentation } from '@opentelemetry/instrumentation-mongodb';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';

/**
 * The libraries traced in every service: outgoing HTTP (the gateway opens its request spans itself), outgoing
 * `fetch`/undici calls (Qdrant, an HTTP embedder), Redis (ioredis, also under BullMQ) and MongoDB (the driver
 * under mongoose). BullMQ traces itself through `bullmq-otel`; NATS spans come from libs/bus.
 *
 * What they record never includes a payload: Redis spans name the command only, MongoDB statements have their
 * values replaced by `?`, HTTP spans carry no headers. Client spans are only made inside a trace, so
 * background polling (BullMQ workers, sweepers) does not start traces of its own.
 */
export function createInstrumentations(): Instrumentation[] {
  return [
    new HttpInstrumentation({
      // The gateway opens its request spans itself (services/gateway/src/plugins/tracing.ts), with the
      // attributes the platform uses and none of the per-request emitter wrapping; metrics ports are not traced.
      disableIncomingRequestInstrumentation: true,
      requireParentforOutgoingSpans: true,
      // The OTLP exporter's own requests are not traced (it suppresses tracing itself; this is a second guard).
      ignoreOutgoingRequestHook: (request) => String(request.path ?? '').startsWith('/v1/traces'),
    }),
    new UndiciInstrumentation({ requireParentforSpans: true }),
    new IORedisInstrumentation({
      requireParentSpan: true,
      dbStatementSerializer: (command) => command,
    }),
    new MongoDBInstrumentation({ requireParentSpan: true, enhancedDatabaseReporting: false }),
  ];
}
