import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  BatchSpanProcessor,
  NoopSpanProcessor,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';

export interface TelemetryOptions {
  service: string;
  version: string;
  instance?: string;
  /** OTLP/HTTP base URL (e.g. http://jaeger:4318); without it spans are created for context but not exported. */
  otlpEndpoint?: string | undefined;
  /** An exporter to use instead of OTLP (tests). */
  exporter?: SpanExporter;
}

export interface Telemetry {
  /** Flushes pending spans and stops the SDK; never throws, never takes longer than `timeoutMs`. */
  shutdown(timeoutMs?: number): Promise<void>;
}

/**
 * Starts OpenTelemetry for one service process: W3C trace-context propagation and async context always
 * (so trace ids flow through HTTP, NATS and logs), and an OTLP exporter only when an endpoint is configured.
 */
export function startTelemetry(options: TelemetryOptions): Telemetry {
  const spanProcessors: SpanProcessor[] = [];
  if (options.exporter) spanProcessors.push(new SimpleSpanProcessor({ exporter: options.exporter }));
  else if (options.otlpEndpoint) {
    const url = `${options.otlpEndpoint.replace(/\/+$/, '')}/v1/traces`;
    spanProcessors.push(
      new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url }), scheduledDelayMillis: 1_000 }),
    );
  } else {
    // Without any processor the SDK registers no tracer provider, and requests would get no trace ids.
    spanProcessors.push(new NoopSpanProcessor());
  }
  const sdk = new NodeSDK({
    autoDetectResources: false,
    resource: defaultResource().merge(
      resourceFromAttributes({
        [ATTR_SERVICE_NAME]: `kb-${options.service}`,
        [ATTR_SERVICE_VERSION]: options.version,
        ...(options.instance ? { 'service.instance.id': options.instance } : {}),
      }),
    ),
    spanProcessors,
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [],
  });
  sdk.start();
  return {
    async shutdown(timeoutMs = 3_000) {
      const timer = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref());
      await Promise.race([sdk.shutdown().catch(() => undefined), timer]);
    },
  };
}
export { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
