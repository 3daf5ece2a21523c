import { randomBytes } from 'node:crypto';
import { SAMPLING_BUCKET } from '@kb/contracts';
import { type KV, Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { type CapturedSpan, type Collector, SPAN_KIND, startCollector } from './collector.ts';
import { type DocumentsPlatform, settled, startDocumentsPlatform } from './documents.helpers.ts';
import { type Answer, client } from './http.ts';
import { createOrg, createWorkspace, type WorkspaceFixture } from './tenants.ts';

let collector: Collector;
let env: DocumentsPlatform;
let nc: NatsConnection;
let sampling: KV;
/** Every credential and piece of content the tests handle: none may appear in spans, logs or metrics. */
const secrets: string[] = [];

beforeAll(async () => {
  collector = await startCollector();
  env = await startDocumentsPlatform({
    KB_OTLP_ENDPOINT: collector.endpoint,
    // Nothing is sampled unless an organization's ratio is raised: every exported trace is one asked for.
    KB_TRACE_SAMPLE_RATIO: '0',
    KB_METRICS_PORT: '0',
  });
  secrets.push(env.platform.env.KB_MASTER_KEY as string);
  nc = await connect({ servers: inject('natsUrl') });
  sampling = await new Kvm(nc).create(SAMPLING_BUCKET);
}, 90_000);

afterAll(async () => {
  await nc?.drain();
  await env?.stop();
  await collector?.close();
});

const traceIdOf = (answer: Answer<unknown>) => answer.headers.get('traceparent')?.split('-')[1] ?? '';
const isSampled = (answer: Answer<unknown>) => answer.headers.get('traceparent')?.endsWith('-01') ?? false;

async function workspace(name: string): Promise<WorkspaceFixture> {
  const org = await createOrg(env.platform, name);
  const ws = await createWorkspace(env.platform, org, `${name} main`);
  secrets.push(org.adminKey, ws.key);
  return ws;
}

/** Sets the organization's ratio in the KV bucket and waits until the gateway applies it to its requests. */
async function setRatio(ws: WorkspaceFixture, ratio: number | null): Promise<void> {
  if (ratio === null) await sampling.delete(ws.org.id);
  else await sampling.put(ws.org.id, String(ratio));
  await vi.waitFor(
    async () => expect(isSampled(await ws.as('GET', '/v1/documents?limit=1'))).toBe(ratio === 1),
    { timeout: 5_000, interval: 50 },
  );
}

const SERVICES = ['gateway', 'tenant', 'ingestion', 'search', 'usage'] as const;

function logLines(service: (typeof SERVICES)[number]): Record<string, unknown>[] {
  return (env.platform.processes.get(service)?.stdout ?? []).flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

const has = (spans: CapturedSpan[], service: string, kind: number, name: string) =>
  spans.some((span) => span.service === `kb-${service}` && span.kind === kind && span.name === name);

/** Every span names the workspace's organization, and the workspace (or `_` for work at organization level). */
function expectTenant(spans: CapturedSpan[], ws: WorkspaceFixture): void {
  const foreign = spans.filter(
    (span) =>
      span.attributes['kb.org_id'] !== ws.org.id ||
      (span.attributes['kb.workspace_id'] !== ws.id && span.attributes['kb.workspace_id'] !== '_'),
  );
  expect(foreign.map((span) => `${span.service} ${span.name} ${JSON.stringify(span.attributes)}`)).toEqual(
    [],
  );
}

/** Every span's parent is in the trace, except the root's: the trace is whole. */
function isConnected(spans: CapturedSpan[]): boolean {
  const ids = new Set(spans.map((span) => span.spanId));
  return spans.filter((span) => !span.parentSpanId || !ids.has(span.parentSpanId)).length === 1;
}

type Expected = [service: string, kind: number, name: string];

/** Waits until the trace holds every expected span and is whole (services export in their own batches). */
async function wholeTrace(traceId: string, expected: Expected[]): Promise<CapturedSpan[]> {
  const missing = (spans: CapturedSpan[]) =>
    expected.filter(([service, kind, name]) => !has(spans, service, kind, name)).map((e) => e.join(' '));
  await vi.waitFor(
    () => {
      const spans = collector.inTrace(traceId);
      expect(missing(spans)).toEqual([]);
      expect(isConnected(spans)).toBe(true);
    },
    { timeout: 20_000, interval: 200 },
  );
  return collector.inTrace(traceId);
}

describe('one trace per request, across services', () => {
  it('follows an upload from the HTTP request through NATS, the BullMQ job and embedding to the Qdrant upsert', async () => {
    const ws = await workspace('Traced uploads');
    await setRatio(ws, 1);
    const text = `Tidal pools hold anemones and crabs; canary ${randomBytes(6).toString('hex')}`;
    secrets.push(text);
    const upload = await ws.as<{ id: string }>('POST', '/v1/documents', { title: 'Pools', content: text });
    expect(upload.status).toBe(202);
    expect(isSampled(upload)).toBe(true);
    expect((await settled(ws, upload.body.id)).status).toBe('ready');

    const spans = await wholeTrace(traceIdOf(upload), [
      ['gateway', SPAN_KIND.server, 'POST /v1/documents'],
      ['gateway', SPAN_KIND.client, 'send usage.quota.check'],
      ['gateway', SPAN_KIND.client, 'send ingestion.document.create'],
      ['ingestion', SPAN_KIND.server, 'process ingestion.document.create'],
      ['gateway', SPAN_KIND.producer, 'publish kb.*.*.ingest.requested'],
      ['ingestion', SPAN_KIND.consumer, 'process KB_INGEST'],
      ['ingestion', SPAN_KIND.consumer, 'process ingest'],
      ['ingestion', SPAN_KIND.internal, 'embed'],
      ['ingestion', SPAN_KIND.producer, 'publish kb.*.*.evt.document.ready'],
      ['usage', SPAN_KIND.consumer, 'process KB_USAGE'],
    ]);
    const upsert = spans.find(
      (span) =>
        span.kind === SPAN_KIND.client &&
        span.attributes['http.request.method'] === 'PUT' &&
        String(span.attributes['url.full']).includes(`/collections/kb_${ws.org.id}_${ws.id}/points`),
    );
    expect(upsert?.service).toBe('kb-ingestion');
    const job = spans.find((span) => span.name === 'process ingest');
    const embed = spans.find((span) => span.name === 'embed');
    // The job continues the trace of the message that queued it; embedding and the upsert happen in the job.
    expect(spans.find((span) => span.spanId === job?.parentSpanId)?.service).toBe('kb-ingestion');
    const ancestors = (span: CapturedSpan | undefined): string[] => {
      const parent = spans.find((candidate) => candidate.spanId === span?.parentSpanId);
      return parent ? [parent.spanId, ...ancestors(parent)] : [];
    };
    expect(ancestors(embed)).toContain(job?.spanId);
    expect(ancestors(upsert)).toContain(job?.spanId);
    expect(
      spans.some(
        (span) => span.service === 'kb-ingestion' && span.attributes['db.system.name'] === 'mongodb',
      ),
    ).toBe(true);
    expect(spans.some((span) => span.attributes['db.system.name'] === 'redis')).toBe(true);
    const consumed = spans.find((span) => span.name === 'process KB_INGEST');
    expect(consumed?.attributes).toMatchObject({
      'messaging.system': 'nats',
      'messaging.operation.type': 'process',
      'messaging.destination.template': 'kb.*.*.ingest.requested',
      'messaging.consumer.group.name': expect.stringContaining('ingestion'),
    });
    expectTenant(spans, ws);
    expect(spans.filter((span) => span.attributes['kb.workspace_id'] === ws.id).length).toBeGreaterThan(20);

    // Log lines of the trace carry its ids, the request id and the tenant, in whichever service logged.
    const lines = SERVICES.flatMap((service) => logLines(service)).filter(
      (line) => line.trace_id === traceIdOf(upload),
    );
    expect(lines.some((line) => line.service === 'gateway' && line.msg === 'request')).toBe(true);
    for (const line of lines) {
      expect(line).toMatchObject({ org_id: ws.org.id, workspace_id: ws.id });
      expect(line.span_id).toMatch(/^[0-9a-f]{16}$/);
      expect(line.request_id, JSON.stringify(line)).toBe(upload.headers.get('x-request-id'));
    }
  });

  it('follows a search from the HTTP request to the Qdrant query', async () => {
    const ws = await workspace('Traced searches');
    const upload = await ws.as<{ id: string }>('POST', '/v1/documents', {
      content: 'Glaciers carve valleys.',
    });
    expect((await settled(ws, upload.body.id)).status).toBe('ready');
    await setRatio(ws, 1);
    const query = `glaciers ${randomBytes(4).toString('hex')}`;
    secrets.push(query);
    const answer = await ws.as('POST', '/v1/search', { query, top_k: 3 });
    expect(answer.status).toBe(200);
    const spans = await wholeTrace(traceIdOf(answer), [
      ['gateway', SPAN_KIND.server, 'POST /v1/search'],
      // The quota check and the search are made after awaits in the gateway: each joins the trace explicitly.
      ['gateway', SPAN_KIND.client, 'send usage.quota.check'],
      ['usage', SPAN_KIND.server, 'process usage.quota.check'],
      ['gateway', SPAN_KIND.client, 'send search.query'],
      ['search', SPAN_KIND.server, 'process search.query'],
      ['search', SPAN_KIND.internal, 'embed'],
    ]);
    expect(
      spans.some(
        (span) =>
          span.service === 'kb-search' &&
          span.kind === SPAN_KIND.client &&
          String(span.attributes['url.full']).includes(`/collections/kb_${ws.org.id}_${ws.id}/points/query`),
      ),
    ).toBe(true);
    expect(spans.find((span) => span.name === 'POST /v1/search')?.attributes).toMatchObject({
      'http.route': '/v1/search',
      'http.response.status_code': 200,
    });
    expectTenant(spans, ws);
  });
});

describe('tenant-aware sampling', () => {
  it('samples every request of an organization whose ratio is raised at run time, and no more of the others', async () => {
    const a = await workspace('Sampled A');
    const b = await workspace('Sampled B');
    const before = await a.as('GET', '/v1/documents');
    expect(isSampled(before)).toBe(false);

    await setRatio(a, 1);
    const ofA: Answer<unknown>[] = [];
    const ofB: Answer<unknown>[] = [];
    for (let i = 0; i < 8; i += 1) {
      ofA.push(await a.as('GET', '/v1/documents'));
      ofB.push(await b.as('GET', '/v1/documents'));
    }
    expect(ofA.every(isSampled)).toBe(true);
    expect(ofB.some(isSampled)).toBe(false);
    for (const answer of ofA) {
      const spans = await wholeTrace(traceIdOf(answer), [
        ['gateway', SPAN_KIND.server, 'GET /v1/documents'],
        ['ingestion', SPAN_KIND.server, 'process ingestion.document.list'],
      ]);
      expectTenant(spans, a);
    }
    // Batches are flushed about every second: B's traces would have arrived with A's.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    for (const answer of [before, ...ofB]) expect(collector.inTrace(traceIdOf(answer))).toEqual([]);
    expect(collector.spans.some((span) => span.attributes['kb.org_id'] === b.org.id)).toBe(false);

    await setRatio(a, null);
    expect(isSampled(await a.as('GET', '/v1/documents'))).toBe(false);
  });
});

describe('what telemetry keeps', () => {
  it('never holds an API key, a token or document text in span attributes, log lines or metric labels', async () => {
    const ws = await workspace('Scanned');
    await setRatio(ws, 1);
    const text = `Basalt columns cool slowly; canary ${randomBytes(6).toString('hex')}`;
    secrets.push(text);
    const upload = await ws.as<{ id: string }>('POST', '/v1/documents', { content: text });
    expect((await settled(ws, upload.body.id)).status).toBe('ready');
    const token = await ws.as<{ token: string }>('POST', '/v1/tokens', { expires_in: 300 });
    expect(token.status).toBe(201);
    secrets.push(token.body.token);
    const query = `basalt columns ${randomBytes(4).toString('hex')}`;
    secrets.push(query);
    const searched = await client(env.platform.gatewayUrl, token.body.token)('POST', '/v1/search', { query });
    expect(searched.status).toBe(200);
    const refused = await client(env.platform.gatewayUrl, `${ws.key.slice(0, -4)}zzzz`)(
      'GET',
      '/v1/documents',
    );
    expect(refused.status).toBe(401);
    await wholeTrace(traceIdOf(searched), [['search', SPAN_KIND.server, 'process search.query']]);
    await new Promise((resolve) => setTimeout(resolve, 1_500));

    const metrics: string[] = [];
    const gatewayMetrics = await fetch(`${env.platform.gatewayUrl}/metrics`);
    expect(gatewayMetrics.headers.get('content-type')).toContain('text/plain');
    metrics.push(await gatewayMetrics.text());
    for (const service of ['tenant', 'ingestion', 'search', 'usage'] as const) {
      const port = logLines(service).find((line) => line.msg === 'metrics listening')?.metrics_port;
      expect(port, service).toBeTypeOf('number');
      metrics.push(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
    }
    const [gateway, , ingestion, search] = metrics as [string, string, string, string, string];
    expect(gateway).toMatch(/http_server_request_duration_count\{[^}]*http_route="\/v1\/search"/);
    expect(search).toMatch(/kb_nats_server_duration_count\{[^}]*operation="search.query"/);
    expect(ingestion).toMatch(/kb_queue_depth\{[^}]*queue="fair"/);
    expect(ingestion).toMatch(/kb_messaging_consumer_pending\{[^}]*stream="KB_INGEST"/);
    expect(ingestion).toMatch(/bullmq_job_duration_count\{/);

    const logs = [...env.platform.processes.values()].flatMap((p) => [...p.stdout, ...p.stderr]);
    expect(collector.bodies.length).toBeGreaterThan(0);
    const captured = {
      spans: collector.bodies.join('\n'),
      logs: logs.join('\n'),
      metrics: metrics.join('\n'),
    };
    const labels = metrics.join('\n').match(/\{[^}]*\}/g) ?? [];
    for (const [where, output] of Object.entries(captured)) {
      for (const secret of secrets)
        expect(output.includes(secret), `${where} holds ${secret.slice(0, 12)}…`).toBe(false);
      // Any API key (kb_live_/kb_test_ + random part) or JWT (signed tenant contexts, search tokens).
      expect(output, where).not.toMatch(/kb_(live|test)_[0-9A-Za-z]{16,}/);
      expect(output, where).not.toMatch(/eyJ[\w-]+\.eyJ[\w-]+\./);
    }
    // Tenant ids never label metrics: their number is unbounded.
    expect(labels.filter((label) => /(org|ws|key|doc)_[0-9a-z]{26}/.test(label))).toEqual([]);
  });
});
