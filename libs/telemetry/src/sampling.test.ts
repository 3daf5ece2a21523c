import { randomBytes } from 'node:crypto';
import { type Context, context, ROOT_CONTEXT, SpanKind, TraceFlags, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterEach, describe, expect, it } from 'vitest';
import { adoptTenant, createSamplingPolicy, createTenantSampler, setActivePolicy } from './sampling.js';
import { type TenantRef, TenantSpanProcessor } from './tenant.js';

const ORG_A = 'org_01aaaaaaaaaaaaaaaaaaaaaaaa';
const ORG_B = 'org_01bbbbbbbbbbbbbbbbbbbbbbbb';
const traceId = () => randomBytes(16).toString('hex');

function setup(base: number, current: () => TenantRef | undefined = () => undefined) {
  const policy = createSamplingPolicy(base);
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({
    sampler: createTenantSampler(policy, current),
    spanProcessors: [new TenantSpanProcessor(current), new SimpleSpanProcessor({ exporter })],
  });
  setActivePolicy(policy);
  return { policy, exporter, tracer: provider.getTracer('test') };
}

/** A context whose parent is a span of another process, as extracted from a `traceparent`. */
function remoteParent(sampled: boolean): Context {
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: traceId(),
    spanId: randomBytes(8).toString('hex'),
    traceFlags: sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
    isRemote: true,
  });
}

afterEach(() => setActivePolicy(undefined));

describe('sampling policy', () => {
  it('uses the organization’s own ratio when it has one, the base otherwise', () => {
    const policy = createSamplingPolicy(0.1);
    policy.setOrg(ORG_A, 1);
    expect(policy.ratioFor(ORG_A)).toBe(1);
    expect(policy.ratioFor(ORG_B)).toBe(0.1);
    expect(policy.ratioFor(undefined)).toBe(0.1);
    policy.clearOrg(ORG_A);
    expect(policy.ratioFor(ORG_A)).toBe(0.1);
    policy.setBase(0.5);
    expect(policy.ratioFor(ORG_B)).toBe(0.5);
    policy.resetBase();
    expect(policy.ratioFor(ORG_B)).toBe(0.1);
  });

  it('refuses ratios outside 0..1', () => {
    expect(() => createSamplingPolicy(1.5)).toThrow(RangeError);
    const policy = createSamplingPolicy(1);
    expect(() => policy.setOrg(ORG_A, -0.1)).toThrow(RangeError);
    expect(() => policy.setBase(Number.NaN)).toThrow(RangeError);
  });

  it('decides from the trace id alone: the same in every process, and kept when the ratio rises', () => {
    const here = createSamplingPolicy(0.3);
    const elsewhere = createSamplingPolicy(0.3);
    const raised = createSamplingPolicy(0.6);
    const ids = Array.from({ length: 4_000 }, traceId);
    const admitted = ids.filter((id) => here.admits(id, ORG_A));
    expect(ids.filter((id) => elsewhere.admits(id, ORG_A))).toEqual(admitted);
    expect(admitted.every((id) => raised.admits(id, ORG_A))).toBe(true);
    expect(admitted.length / ids.length).toBeGreaterThan(0.25);
    expect(admitted.length / ids.length).toBeLessThan(0.35);
  });
});

describe('tenant sampler', () => {
  it('samples a new trace at the ratio of the tenant current where it starts', () => {
    let current: TenantRef | undefined;
    const { policy, exporter, tracer } = setup(0, () => current);
    policy.setOrg(ORG_A, 1);
    current = { org: ORG_A, ws: '_' };
    const a = tracer.startSpan('work of a');
    current = { org: ORG_B, ws: '_' };
    const b = tracer.startSpan('work of b');
    current = undefined;
    const named = tracer.startSpan('named', { attributes: { 'kb.org_id': ORG_A } });
    for (const span of [a, b, named]) span.end();
    expect(a.spanContext().traceFlags).toBe(TraceFlags.SAMPLED);
    expect(b.isRecording()).toBe(false);
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['work of a', 'named']);
  });

  it('follows the parent’s decision across processes, whatever the tenant’s ratio', () => {
    const { policy, tracer } = setup(0, () => ({ org: ORG_A, ws: '_' }));
    policy.setOrg(ORG_A, 1);
    expect(tracer.startSpan('handle', { kind: SpanKind.SERVER }, remoteParent(false)).isRecording()).toBe(
      false,
    );
    policy.setOrg(ORG_A, 0);
    const child = tracer.startSpan('handle', { kind: SpanKind.SERVER }, remoteParent(true));
    expect(child.spanContext().traceFlags).toBe(TraceFlags.SAMPLED);
  });

  it('leaves an HTTP request’s decision open until its tenant is adopted', () => {
    const { policy, exporter, tracer } = setup(0);
    policy.setOrg(ORG_A, 1);
    const http = { kind: SpanKind.SERVER, attributes: { 'http.request.method': 'POST' } };

    // A client's sampled traceparent keeps its trace id but cannot force sampling.
    const incoming = remoteParent(true);
    const ofB = tracer.startSpan('POST', http, incoming);
    expect(ofB.isRecording()).toBe(true);
    expect(ofB.spanContext().traceId).toBe(trace.getSpanContext(incoming)?.traceId);
    adoptTenant(ofB, { org: ORG_B, ws: 'ws_01bbbbbbbbbbbbbbbbbbbbbbbb' });
    const underB = tracer.startSpan('call', {}, trace.setSpan(context.active(), ofB));
    underB.end();
    ofB.end();

    const ofA = tracer.startSpan('POST', http);
    const before = tracer.startSpan('key lookup', {}, trace.setSpan(ROOT_CONTEXT, ofA));
    adoptTenant(ofA, { org: ORG_A, ws: 'ws_01aaaaaaaaaaaaaaaaaaaaaaaa' });
    const after = tracer.startSpan('search', {}, trace.setSpan(ROOT_CONTEXT, ofA));
    for (const span of [before, after, ofA]) span.end();

    const names = exporter.getFinishedSpans().map((s) => s.name);
    expect(names).toEqual(['search', 'POST']);
    const exported = exporter.getFinishedSpans();
    expect(exported.every((s) => s.attributes['kb.org_id'] === ORG_A)).toBe(true);
    expect(exported.every((s) => s.spanContext().traceId === ofA.spanContext().traceId)).toBe(true);
  });

  it('settles a request at once, unrecorded, when no ratio in force admits its trace', () => {
    const { policy, exporter, tracer } = setup(0);
    const http = { kind: SpanKind.SERVER, attributes: { 'http.request.method': 'GET' } };
    const incoming = remoteParent(true);
    const dropped = tracer.startSpan('GET', http, incoming);
    expect(dropped.isRecording()).toBe(false);
    // Still a real span context: its trace id continues the client's, for logs and `traceparent`.
    expect(dropped.spanContext().traceId).toBe(trace.getSpanContext(incoming)?.traceId);
    expect(dropped.spanContext().traceFlags).toBe(TraceFlags.NONE);
    adoptTenant(dropped, { org: ORG_A, ws: '_' });
    tracer.startSpan('call', {}, trace.setSpan(ROOT_CONTEXT, dropped)).end();
    dropped.end();
    expect(exporter.getFinishedSpans()).toHaveLength(0);

    // One organization followed at 1: every request waits for its tenant again, and A's are kept.
    policy.setOrg(ORG_A, 1);
    const ofA = tracer.startSpan('GET', http);
    expect(ofA.isRecording()).toBe(true);
    adoptTenant(ofA, { org: ORG_A, ws: '_' });
    ofA.end();
    expect(exporter.getFinishedSpans()).toHaveLength(1);
    policy.clearOrg(ORG_A);
    expect(tracer.startSpan('GET', http).isRecording()).toBe(false);
  });

  it('keeps at the base ratio exactly the requests it would have kept after waiting for the tenant', () => {
    const { policy, exporter, tracer } = setup(0.4);
    const http = { kind: SpanKind.SERVER, attributes: { 'http.request.method': 'GET' } };
    let admitted = 0;
    for (let i = 0; i < 2_000; i += 1) {
      const span = tracer.startSpan('GET', http);
      const kept = policy.admits(span.spanContext().traceId, ORG_B);
      if (kept) admitted += 1;
      // Recorded from the start exactly when the base ratio admits the trace.
      expect(span.isRecording()).toBe(kept);
      adoptTenant(span, { org: ORG_B, ws: '_' });
      span.end();
    }
    expect(exporter.getFinishedSpans()).toHaveLength(admitted);
    expect(admitted / 2_000).toBeGreaterThan(0.34);
    expect(admitted / 2_000).toBeLessThan(0.46);
  });

  it('settles a request without a tenant at the base ratio', () => {
    const { exporter, tracer } = setup(1);
    const span = tracer.startSpan('GET', { kind: SpanKind.SERVER, attributes: { 'http.method': 'GET' } });
    adoptTenant(span, null);
    span.end();
    expect(exporter.getFinishedSpans()).toHaveLength(1);
    expect(exporter.getFinishedSpans()[0]?.attributes['kb.org_id']).toBeUndefined();
  });
});
