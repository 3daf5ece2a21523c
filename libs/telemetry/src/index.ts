import { getBooleanFromEnv } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationType } from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  BatchSpanProcessor,
  NoopSpanProcessor,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { createMetricsEndpoint, type MetricsEndpoint } from './metrics.js';
import {
  createSamplingPolicy,
  createTenantSampler,
  type SamplingPolicy,
  setActivePolicy,
} from './sampling.js';
import { SyncContextManager } from './sync-context.js';
import { type TenantRef, TenantSpanProcessor } from './tenant.js';

export interface TelemetryOptions {
  service: string;
  version: string;
  instance?: string;
  /** OTLP/HTTP base URL (e.g. http://jaeger:4318); without it spans are created for context but not exported. */
  otlpEndpoint?: string | undefined;
  /** An exporter to use instead of OTLP (tests). */
  exporter?: SpanExporter;
  /** The share of new traces sampled when no per-organization ratio applies (default 1). */
  sampleRatio?: number;
  /** The tenant of the work under way (the tenancy lib's current context), for span attributes and sampling. */
  tenant?: () => TenantRef | undefined;
  /**
   * Whether the active context follows asynchronous work (AsyncLocalStorage; the default). `false`: it lasts
   * for the synchronous extent of `context.with` only (SyncContextManager), for a process that passes its
   * spans explicitly and should not pay for a hook on every promise.
   */
  asyncContext?: boolean;
}

export interface Telemetry {
  /** The sampling ratios in force; per-organization ratios change at run time. */
  sampling: SamplingPolicy;
  /** The process's metrics in Prometheus text format. */
  metrics: MetricsEndpoint;
  /** Flushes pending spans and stops the SDK; never throws, never takes longer than `timeoutMs`. */
  shutdown(timeoutMs?: number): Promise<void>;
}

/**
 * Starts OpenTelemetry for one service process: W3C trace-context propagation and async context always
 * (so trace ids flow through HTTP, NATS and logs), tenant attributes on every span, the tenant-aware sampler,
 * metrics for Prometheus, and an OTLP exporter only when an endpoint is configured. Library instrumentation
 * is installed earlier, by the `@kb/telemetry/register` preload.
 */
export function startTelemetry(options: TelemetryOptions): Telemetry {
  const tenantOf = options.tenant ?? (() => undefined);
  const sampling = createSamplingPolicy(options.sampleRatio ?? 1);
  const spanProcessors: SpanProcessor[] = [new TenantSpanProcessor(tenantOf)];
  if (options.exporter) spanProcessors.push(new SimpleSpanProcessor({ exporter: options.exporter }));
  else if (options.otlpEndpoint) {
    const url = `${options.otlpEndpoint.replace(/\/+$/, '')}/v1/traces`;
    spanProcessors.push(
      new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url }), scheduledDelayMillis: 1_000 }),
    );
  } else {
    // Without an exporting processor spans still get real trace ids, for responses and logs.
    spanProcessors.push(new NoopSpanProcessor());
  }
  // The standard switch: with OTEL_SDK_DISABLED=true the SDK starts nothing (no spans, no trace context
  // carried between async calls, no metrics); responses and messages then carry no trace context either.
  const { reader, endpoint } = createMetricsEndpoint({ disabled: getBooleanFromEnv('OTEL_SDK_DISABLED') });
  const sdk = new NodeSDK({
    ...(options.asyncContext === false ? { contextManager: new SyncContextManager() } : {}),
    autoDetectResources: false,
    resource: defaultResource().merge(
      resourceFromAttributes({
        [ATTR_SERVICE_NAME]: `kb-${options.service}`,
        [ATTR_SERVICE_VERSION]: options.version,
        ...(options.instance ? { 'service.instance.id': options.instance } : {}),
      }),
    ),
    sampler: createTenantSampler(sampling, tenantOf),
    spanProcessors,
    metricReaders: [reader],
    // The HTTP instrumentation's own request-duration histogram: the gateway records that metric itself,
    // by route template and plan; a second instrument of the same name would only cost every request.
    views: [
      {
        meterName: '@opentelemetry/instrumentation-http',
        instrumentName: 'http.server.request.duration',
        aggregation: { type: AggregationType.DROP },
      },
    ],
    logRecordProcessors: [],
    instrumentations: [],
  });
  sdk.start();
  setActivePolicy(sampling);
  return {
    sampling,
    metrics: endpoint,
    async shutdown(timeoutMs = 3_000) {
      const timer = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref());
      await Promise.race([sdk.shutdown().catch(() => undefined), timer]);
    },
  };
}

export { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
export { traceMetadata } from './carrier.js';
export {
  boundedLabel,
  DURATION_BUCKETS_S,
  type MetricsEndpoint,
  type MetricsServer,
  PROMETHEUS_CONTENT_TYPE,
} from './metrics.js';
export {
  adoptTenant,
  createSamplingPolicy,
  createTenantSampler,
  isRatio,
  type SamplingPolicy,
} from './sampling.js';
export { SyncContextManager } from './sync-context.js';
export { ATTR_ORG_ID, ATTR_WORKSPACE_ID, type TenantRef, TenantSpanProcessor } from './tenant.js';
