import { context, propagation } from '@opentelemetry/api';

/**
 * The active trace context as the JSON of its W3C headers (`traceparent`, `tracestate`), the metadata format
 * BullMQ's telemetry (bullmq-otel) reads, to carry a trace through a queue; undefined outside a trace.
 */
export function traceMetadata(): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ? JSON.stringify(carrier) : undefined;
}
