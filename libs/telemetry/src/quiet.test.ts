import { trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { startTelemetry } from './index.js';

describe('startTelemetry without an exporter', () => {
  it('still gives spans real trace ids, so responses and logs can carry them', async () => {
    const telemetry = startTelemetry({ service: 'quiet', version: '1.0.0' });
    const span = trace.getTracer('test').startSpan('work');
    expect(span.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(span.spanContext().traceId).not.toBe('0'.repeat(32));
    span.end();
    await telemetry.shutdown();
  });
});
