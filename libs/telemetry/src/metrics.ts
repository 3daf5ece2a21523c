import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';

/**
 * Bucket boundaries (seconds) for request, message and job durations: from 5 ms to a minute.
 * Passed as instrument advice, since the SDK's default boundaries are meant for milliseconds.
 */
export const DURATION_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * A label value from a fixed set, `other` for anything else. Metric labels about tenants use only such
 * bounded values (the plan, never an organization or workspace id), so the number of series stays fixed
 * however many tenants there are.
 */
export function boundedLabel(value: string | undefined, allowed: readonly string[]): string {
  return value !== undefined && allowed.includes(value) ? value : 'other';
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/** The content type of the Prometheus text exposition format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** The process's metrics in Prometheus text format, for a route of an existing server or a port of its own. */
export interface MetricsEndpoint {
  /** The current metrics as Prometheus text (the gateway answers `GET /metrics` with it). */
  text(): Promise<string>;
  /** Serves `GET /metrics` on `port` (0: any free port). */
  listen(port: number, host: string): Promise<MetricsServer>;
}

// Every series is labelled with the service (`service_name="kb-search"`), so series of different services
// stay apart wherever they are aggregated.
const SERVICE_LABEL = /^service\.name$/;

/** What `/metrics` answers while OpenTelemetry is switched off: a valid exposition with no series. */
export const METRICS_DISABLED_TEXT =
  '# OpenTelemetry is disabled (OTEL_SDK_DISABLED=true): this process collects no metrics\n';

/**
 * The Prometheus reader to register with the SDK, and the endpoint serving what it reads. `disabled`: the SDK
 * is switched off (`OTEL_SDK_DISABLED`), so the reader is never registered and the endpoint answers an empty
 * exposition that says why, rather than failing every scrape.
 */
export function createMetricsEndpoint(options: { disabled?: boolean } = {}): {
  reader: PrometheusExporter;
  endpoint: MetricsEndpoint;
} {
  const reader = new PrometheusExporter({
    preventServerStart: true,
    withoutScopeInfo: true,
    withResourceConstantLabels: SERVICE_LABEL,
  });
  const serializer = new PrometheusSerializer(undefined, false, SERVICE_LABEL, false, true);
  const text = async () => {
    if (options.disabled) return METRICS_DISABLED_TEXT;
    const { resourceMetrics } = await reader.collect();
    return serializer.serialize(resourceMetrics);
  };
  const endpoint: MetricsEndpoint = {
    text,
    listen(port, host) {
      const server = createServer((request, response) => {
        if (request.method !== 'GET' || (request.url ?? '').split('?')[0] !== '/metrics') {
          response.writeHead(404).end();
          return;
        }
        text().then(
          (body) => response.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE }).end(body),
          () => response.writeHead(500).end(),
        );
      });
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve({
            port: (server.address() as AddressInfo).port,
            close: () => new Promise<void>((done) => server.close(() => done())),
          });
        });
      });
    },
  };
  return { reader, endpoint };
}
