import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { describe, expect, it, vi } from 'vitest';
import { startTelemetry } from './index.js';

describe('startTelemetry with asyncContext: false', () => {
  it('keeps a span active only for the synchronous extent of context.with, and parents spans started there', async () => {
    const exporter = new InMemorySpanExporter();
    const telemetry = startTelemetry({ service: 'test', version: '1.0.0', exporter, asyncContext: false });
    const tracer = trace.getTracer('test');
    const request = tracer.startSpan('request');
    const afterAwait = await context.with(trace.setSpan(context.active(), request), async () => {
      tracer.startSpan('child').end();
      await new Promise((resolve) => setTimeout(resolve, 1));
      return context.active();
    });
    expect(afterAwait).toBe(ROOT_CONTEXT);
    request.end();
    await vi.waitFor(() => expect(exporter.getFinishedSpans()).toHaveLength(2));
    const [child, parent] = exporter.getFinishedSpans();
    expect(child?.name).toBe('child');
    expect(child?.parentSpanContext?.spanId).toBe(parent?.spanContext().spanId);
    expect(child?.spanContext().traceId).toBe(parent?.spanContext().traceId);
    await telemetry.shutdown();
  });
});
