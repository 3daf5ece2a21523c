import { context, propagation, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { describe, expect, it, vi } from 'vitest';
import { startTelemetry } from './index.js';

describe('startTelemetry', () => {
  it('creates real spans, propagates W3C trace context across an async hop, and exports through the exporter', async () => {
    const exporter = new InMemorySpanExporter();
    const telemetry = startTelemetry({ service: 'test', version: '1.0.0', exporter });
    const carrier: Record<string, string> = {};
    const tracer = trace.getTracer('test');
    await tracer.startActiveSpan('outer', async (span) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      propagation.inject(context.active(), carrier);
      span.end();
    });
    expect(carrier.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);

    const remote = propagation.extract(context.active(), carrier);
    tracer.startSpan('inner', {}, remote).end();

    // Export is asynchronous even with the simple processor.
    await vi.waitFor(() => expect(exporter.getFinishedSpans()).toHaveLength(2));
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name)).toEqual(['outer', 'inner']);
    expect(spans[1]?.spanContext().traceId).toBe(spans[0]?.spanContext().traceId);
    expect(spans[0]?.resource.attributes['service.name']).toBe('kb-test');
    expect(spans[0]?.resource.attributes['service.version']).toBe('1.0.0');
    await telemetry.shutdown();
  });
});
