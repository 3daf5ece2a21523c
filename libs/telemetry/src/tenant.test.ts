import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import { type TenantRef, TenantSpanProcessor } from './tenant.js';

const A = { org: 'org_01aaaaaaaaaaaaaaaaaaaaaaaa', ws: 'ws_01aaaaaaaaaaaaaaaaaaaaaaaa' };
const B = { org: 'org_01bbbbbbbbbbbbbbbbbbbbbbbb', ws: '_' };

function setup() {
  let current: TenantRef | undefined;
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({
    spanProcessors: [new TenantSpanProcessor(() => current), new SimpleSpanProcessor({ exporter })],
  });
  return {
    exporter,
    tracer: provider.getTracer('test'),
    as: (tenant: TenantRef | undefined) => {
      current = tenant;
    },
  };
}

describe('TenantSpanProcessor', () => {
  it('tags every span with the tenant current where it starts', () => {
    const { exporter, tracer, as } = setup();
    as(A);
    tracer.startSpan('of a').end();
    as(B);
    tracer.startSpan('of b').end();
    as(undefined);
    tracer.startSpan('of nobody').end();
    const tags = exporter
      .getFinishedSpans()
      .map((s) => [s.name, s.attributes['kb.org_id'], s.attributes['kb.workspace_id']]);
    expect(tags).toEqual([
      ['of a', A.org, A.ws],
      ['of b', B.org, '_'],
      ['of nobody', undefined, undefined],
    ]);
  });

  it('gives a span outside any tenant context the tenant of its local parent', () => {
    const { exporter, tracer, as } = setup();
    as(A);
    const parent = tracer.startSpan('request');
    as(undefined);
    tracer.startSpan('redis', {}, trace.setSpan(context.active(), parent)).end();
    tracer.startSpan('unrelated', {}, ROOT_CONTEXT).end();
    parent.end();
    const byName = Object.fromEntries(
      exporter.getFinishedSpans().map((s) => [s.name, s.attributes['kb.org_id']]),
    );
    expect(byName).toEqual({ redis: A.org, unrelated: undefined, request: A.org });
  });

  it('keeps a tenant the span was started with', () => {
    const { exporter, tracer, as } = setup();
    as(A);
    tracer.startSpan('explicit', { attributes: { 'kb.org_id': B.org, 'kb.workspace_id': B.ws } }).end();
    expect(exporter.getFinishedSpans()[0]?.attributes).toMatchObject({
      'kb.org_id': B.org,
      'kb.workspace_id': B.ws,
    });
  });
});
