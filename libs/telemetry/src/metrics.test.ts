import { metrics } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { startTelemetry } from './index.js';
import { boundedLabel, DURATION_BUCKETS_S, METRICS_DISABLED_TEXT } from './metrics.js';

describe('metrics', () => {
  it('serves the process’s instruments in Prometheus text format on a port of its own', async () => {
    const telemetry = startTelemetry({ service: 'metered', version: '2.0.0' });
    const meter = metrics.getMeter('test');
    meter.createCounter('kb.test.events').add(3, { plan: 'pro' });
    meter
      .createHistogram('kb.test.duration', {
        unit: 's',
        advice: { explicitBucketBoundaries: DURATION_BUCKETS_S },
      })
      .record(0.2, { plan: 'free' });
    const server = await telemetry.metrics.listen(0, '127.0.0.1');
    try {
      const response = await fetch(`http://127.0.0.1:${server.port}/metrics`);
      expect(response.status).toBe(200);
      const text = await response.text();
      expect(response.headers.get('content-type')).toContain('text/plain; version=0.0.4');
      expect(text).toContain('kb_test_events_total{plan="pro",service_name="kb-metered"} 3');
      expect(text).toContain('kb_test_duration_bucket{plan="free",service_name="kb-metered",le="0.25"} 1');
      expect(await telemetry.metrics.text()).toContain('kb_test_events_total');
      expect(text).toMatch(/target_info\{[^}]*service_name="kb-metered"/);
      expect((await fetch(`http://127.0.0.1:${server.port}/other`)).status).toBe(404);
    } finally {
      await server.close();
      await telemetry.shutdown();
    }
  });

  it('answers an empty exposition saying why while OpenTelemetry is switched off', async () => {
    process.env.OTEL_SDK_DISABLED = 'true';
    try {
      const telemetry = startTelemetry({ service: 'dark', version: '1.0.0' });
      metrics.getMeter('test').createCounter('kb.test.dark').add(1);
      const server = await telemetry.metrics.listen(0, '127.0.0.1');
      try {
        const response = await fetch(`http://127.0.0.1:${server.port}/metrics`);
        expect(response.status).toBe(200);
        expect(await response.text()).toBe(METRICS_DISABLED_TEXT);
      } finally {
        await server.close();
        await telemetry.shutdown();
      }
    } finally {
      delete process.env.OTEL_SDK_DISABLED;
    }
  });

  it('keeps tenant labels to a fixed set of values', () => {
    expect(boundedLabel('pro', ['free', 'pro'])).toBe('pro');
    expect(boundedLabel('org_01aaaaaaaaaaaaaaaaaaaaaaaa', ['free', 'pro'])).toBe('other');
    expect(boundedLabel(undefined, ['free'])).toBe('other');
  });
});
