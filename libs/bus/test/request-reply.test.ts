import { HEADERS, tenantSubject } from '@kb/contracts';
import { AppError } from '@kb/errors';
import { InMemorySpanExporter, startTelemetry, type Telemetry } from '@kb/telemetry';
import { tryCurrentTenant } from '@kb/tenancy';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import { SpanKind, trace } from '@opentelemetry/api';
import { createSigner } from 'fast-jwt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRequester } from '../src/request.js';
import { type ServedService, serveOperations } from '../src/service.js';
import { caller, log, natsConnection, SECRET, signer, tenant, verifier } from './helpers.js';

let nc: NatsConnection;
let served: ServedService;
let telemetry: Telemetry;
const exporter = new InMemorySpanExporter();
const refusals: { reason: string; status: number }[] = [];

beforeAll(async () => {
  telemetry = startTelemetry({ service: 'bus-test', version: '0', exporter, tenant: tryCurrentTenant });
  nc = await natsConnection();
  served = await serveOperations(nc, {
    name: 'search',
    version: '1.0.0',
    description: 'test',
    instance: 'test-1',
    verifier,
    log,
    onRefused: (refusal) => refusals.push(refusal),
    handlers: {
      'search.status': async (_request, { tenant: t }) => ({
        service: 'search',
        version: '1.0.0',
        instance: 'test-1',
        org_id: t.org,
        workspace_id: t.ws,
        uptime_s: 0,
      }),
      // The catalog requires every search operation; this test exercises only the status one.
      'search.query': async () => ({ results: [], took_ms: 0 }),
    },
  });
});

afterAll(async () => {
  await served.stop();
  await nc.drain();
  await telemetry.shutdown();
});

/** Publishes raw bytes and headers on a subject, as an attacker with bus access could. */
async function raw(subject: string, h: ReturnType<typeof headers> | undefined, body = '{}') {
  const reply = await nc.request(subject, body, { timeout: 2_000, ...(h ? { headers: h } : {}) });
  return { code: reply.headers?.get('Nats-Service-Error-Code'), body: reply.string() };
}

function stamped(context = tenant(), token = signer.sign(context)) {
  const h = headers();
  h.set(HEADERS.org, context.org);
  h.set(HEADERS.workspace, context.ws);
  h.set(HEADERS.context, token);
  return h;
}

describe('request/reply with verified tenant context', () => {
  it('answers a stamped request for its own tenant, inside that tenant', async () => {
    const c = caller();
    const reply = await createRequester(nc)('search.status', c, {});
    expect(reply).toMatchObject({ service: 'search', org_id: c.context.org, workspace_id: c.context.ws });
  });

  it('is discoverable with $SRV.PING and $SRV.INFO', async () => {
    const ping = await nc.request('$SRV.PING.search', '', { timeout: 1_000 });
    expect(ping.json<{ name: string }>().name).toBe('search');
    const info = await nc.request('$SRV.INFO.search', '', { timeout: 1_000 });
    const endpoints = info.json<{ endpoints: { subject: string }[] }>().endpoints.map((e) => e.subject);
    expect(endpoints).toContain('kb.*.*.search.status');
  });

  it('refuses a message with no context', async () => {
    const t = tenant();
    const h = headers();
    h.set(HEADERS.org, t.org);
    h.set(HEADERS.workspace, t.ws);
    const answer = await raw(tenantSubject({ org: t.org, ws: t.ws }, 'search.status'), h);
    expect(answer.code).toBe('401');
    expect(answer.body).toContain('no tenant context');
    expect(answer.body).not.toContain(t.org);
  });

  it('refuses a context with a forged signature', async () => {
    const t = tenant();
    const forged = createSigner({
      key: 'attacker-secret'.padEnd(48, 'y'),
      iss: 'kb-gateway',
      aud: 'kb-services',
      expiresIn: 30_000,
    })({ ...t });
    const answer = await raw(tenantSubject({ org: t.org, ws: t.ws }, 'search.status'), stamped(t, forged));
    expect(answer.code).toBe('401');
    expect(answer.body).toContain('invalid');
  });

  it('refuses an expired context', async () => {
    const t = tenant();
    const expired = createSigner({
      key: SECRET,
      iss: 'kb-gateway',
      aud: 'kb-services',
      expiresIn: 1_000,
      clockTimestamp: Date.now() - 60_000,
    })({ ...t });
    const answer = await raw(tenantSubject({ org: t.org, ws: t.ws }, 'search.status'), stamped(t, expired));
    expect(answer.code).toBe('401');
    expect(answer.body).toContain('expired');
  });

  it('refuses a valid context sent on another tenant’s subject', async () => {
    const mine = tenant();
    const victim = tenant();
    const otherOrg = await raw(
      tenantSubject({ org: victim.org, ws: victim.ws }, 'search.status'),
      stamped(mine),
    );
    expect(otherOrg.code).toBe('401');
    const otherWorkspace = await raw(
      tenantSubject({ org: mine.org, ws: victim.ws }, 'search.status'),
      stamped(mine),
    );
    expect(otherWorkspace.code).toBe('401');
    expect(otherWorkspace.body).toContain('does not match');
  });

  it('refuses tenant headers that contradict the context', async () => {
    const mine = tenant();
    const h = stamped(mine);
    h.set(HEADERS.org, tenant().org);
    const answer = await raw(tenantSubject({ org: mine.org, ws: mine.ws }, 'search.status'), h);
    expect(answer.code).toBe('401');
  });

  it('answers 400 naming the problem for a malformed body', async () => {
    const t = tenant();
    const notJson = await raw(
      tenantSubject({ org: t.org, ws: t.ws }, 'search.status'),
      stamped(t),
      '{not json',
    );
    expect(notJson.code).toBe('400');
    expect(notJson.body).toContain('not valid JSON');
    const extra = await raw(
      tenantSubject({ org: t.org, ws: t.ws }, 'search.status'),
      stamped(t),
      '{"collection":"kb_other"}',
    );
    expect(extra.code).toBe('400');
  });

  it('records every refusal', () => {
    expect(refusals.length).toBeGreaterThanOrEqual(5);
    expect(refusals.every((r) => r.status === 401)).toBe(true);
  });

  it('maps no responders to a retryable 503', async () => {
    const error = await createRequester(nc)('usage.status', caller(), {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).status).toBe(503);
    expect((error as AppError).retryable).toBe(true);
    expect((error as AppError).message).toContain('usage is unavailable');
  });

  it('maps a silent service to a timeout 503 within the stated time', async () => {
    const sub = nc.subscribe('kb.*.*.tenant.status');
    const started = Date.now();
    const error = await createRequester(nc)('tenant.status', caller(), {}, { timeoutMs: 300 }).catch(
      (e: unknown) => e,
    );
    sub.unsubscribe();
    expect((error as AppError).code).toBe('timeout');
    expect((error as AppError).status).toBe(503);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('stamps tenant headers, the signed context, the request id and the trace context', async () => {
    const c = caller();
    const sub = nc.subscribe('kb.*.*.ingestion.status', { max: 1 });
    const seen = (async () => {
      for await (const m of sub) {
        m.respond(
          JSON.stringify({
            service: 'ingestion',
            version: '1',
            instance: 'x',
            org_id: c.context.org,
            workspace_id: c.context.ws,
            uptime_s: 0,
          }),
        );
        return {
          rid: m.headers?.get(HEADERS.requestId),
          org: m.headers?.get(HEADERS.org),
          context: m.headers?.get(HEADERS.context),
          traceparent: m.headers?.get('traceparent'),
        };
      }
    })();
    const traceId = await trace.getTracer('test').startActiveSpan('caller', async (span) => {
      await createRequester(nc)('ingestion.status', c, {});
      span.end();
      return span.spanContext().traceId;
    });
    const stampedHeaders = await seen;
    expect(stampedHeaders).toMatchObject({ rid: c.context.rid, org: c.context.org, context: c.token });
    expect(stampedHeaders?.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
  });

  it('continues the caller’s trace in the handler’s span, both tagged with the tenant and messaging attributes', async () => {
    const c = caller();
    const traceId = await trace.getTracer('test').startActiveSpan('caller', async (span) => {
      await createRequester(nc)('search.status', c, {});
      span.end();
      return span.spanContext().traceId;
    });
    const inTrace = () => exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    await vi.waitFor(() => expect(inTrace().some((s) => s.name === 'process search.status')).toBe(true));
    const client = inTrace().find((s) => s.name === 'send search.status');
    const server = inTrace().find((s) => s.name === 'process search.status');
    expect(client?.kind).toBe(SpanKind.CLIENT);
    expect(server?.kind).toBe(SpanKind.SERVER);
    expect(server?.parentSpanContext?.spanId).toBe(client?.spanContext().spanId);
    for (const span of [client, server]) {
      expect(span?.attributes).toMatchObject({
        'kb.org_id': c.context.org,
        'kb.workspace_id': c.context.ws,
        'messaging.system': 'nats',
        'messaging.destination.name': tenantSubject(
          { org: c.context.org, ws: c.context.ws },
          'search.status',
        ),
        'messaging.destination.template': 'kb.*.*.search.status',
      });
    }
    expect(client?.attributes['messaging.operation.type']).toBe('send');
    expect(server?.attributes['messaging.operation.type']).toBe('process');
  });
});
