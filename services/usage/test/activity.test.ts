import { stampHeaders } from '@kb/bus';
import {
  type ActivityItem,
  type DocumentEvent,
  eventSubject,
  type IngestRequested,
  ingestRequestedSubject,
  type RequestActivity,
} from '@kb/contracts';
import { newId, ORG_LEVEL } from '@kb/tenancy';
import { jetstream } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { context, type Harness, reader, sign, startUsage, tenant, usageEvent } from './helpers.js';

let h: Harness;

beforeAll(async () => {
  h = await startUsage();
});

afterAll(async () => {
  await h?.stop();
});

const T0 = Date.parse('2025-03-04T10:00:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();
const trace = (n: number) => n.toString(16).padStart(32, 'a');

const operator = (org: string) => sign({ ...context(org, ORG_LEVEL, ['operator']), kid: 'master' });
const list = (org: string, query: { limit?: number; cursor?: string } = {}) =>
  h.request('usage.activity.list', operator(org), { limit: 20, ...query });

/** A message as a producer would publish it: signed context, request id and the trace it ran in. */
async function publishAs(
  subject: string,
  body: object,
  who: { org: string; ws: string; rid: string; traceId?: string },
  msgId: string,
) {
  const headers = stampHeaders(
    sign({ ...context(who.org, who.ws, ['documents:write']), rid: who.rid }),
    msgId,
  );
  if (who.traceId) headers.set('traceparent', `00-${who.traceId}-00f067aa0ba902b7-01`);
  await jetstream(h.nc).publish(subject, JSON.stringify(body), { msgID: msgId, headers });
}

function requests(org: string, ws: string, entries: [number, string, number][]) {
  const activity: RequestActivity[] = entries.map(([second, route, status], index) => ({
    at: at(second),
    route,
    status,
    duration_ms: 2.5 + index,
    trace_id: trace(100 + second),
    request_id: `req-${second}`,
  }));
  const charged = activity.filter((request) => request.status !== 429).length;
  return { ...usageEvent(org, ws, 'api_calls', charged, at(entries[0]?.[0] ?? 0)), activity };
}

function accepted(org: string, ws: string, doc: string, second: number): IngestRequested {
  return {
    v: 1,
    event_id: `ingest:${doc}:v1`,
    org_id: org,
    workspace_id: ws,
    occurred_at: at(second),
    document_id: doc,
    object: { bucket: 'kb-uploads', name: `${doc}-v1`, bytes: 10 },
    content_type: 'text/plain',
    content_hash: 'a'.repeat(64),
    title: null,
    external_id: null,
    metadata: {},
  };
}

function settled(
  org: string,
  ws: string,
  doc: string,
  second: number,
  status: 'ready' | 'failed',
): DocumentEvent {
  return {
    v: 1,
    event_id: `doc:${doc}:v1:${status}`,
    org_id: org,
    workspace_id: ws,
    occurred_at: at(second),
    document_id: doc,
    status,
    chunks: status === 'ready' ? 3 : 0,
    error: status === 'failed' ? 'the PDF has no text layer' : null,
  };
}

describe('usage.activity.list', () => {
  const a = tenant();
  const b = tenant();
  const [doc1, doc2, doc3] = [newId('document'), newId('document'), newId('document')];
  const calls = requests(a.org, a.ws, [
    [0, 'GET /v1/quotas', 200],
    [1, 'GET /v1/documents/:doc_id', 404],
    [2, 'POST /v1/search', 429],
  ]);

  beforeAll(async () => {
    await h.publish(calls);
    await h.publish(requests(b.org, b.ws, [[1, 'POST /v1/search', 200]]));
    const who = (rid: string, traceId?: string) => ({ ...a, rid, ...(traceId ? { traceId } : {}) });
    await publishAs(
      ingestRequestedSubject(a),
      accepted(a.org, a.ws, doc1, 3),
      who('upload-1', trace(1)),
      'i1',
    );
    const ready = settled(a.org, a.ws, doc1, 3.5, 'ready');
    await publishAs(eventSubject(a, 'document.ready'), ready, who('doc-ready', trace(9)), ready.event_id);
    const failed = settled(a.org, a.ws, doc2, 4, 'failed');
    await publishAs(eventSubject(a, 'document.failed'), failed, who('doc-failed', trace(2)), failed.event_id);
    await publishAs(ingestRequestedSubject(a), accepted(a.org, a.ws, doc3, 5), who('upload-3'), 'i3');
    await h.settled();
  });

  it('answers an organization’s requests and jobs, newest first, with route or job, status, duration and trace', async () => {
    const { items, next_cursor } = await list(a.org);
    expect(next_cursor).toBeNull();
    const view = (item: ActivityItem) => [
      item.time,
      item.route ?? item.job,
      item.status,
      item.duration_ms,
      item.trace_id,
    ];
    expect(items.map(view)).toEqual([
      [at(5), 'ingest', 'queued', null, null],
      [at(4), 'ingest', 'failed', null, trace(2)],
      [at(3), 'ingest', 'ready', 500, trace(1)],
      [at(2), 'POST /v1/search', 429, 4.5, trace(102)],
      [at(1), 'GET /v1/documents/:doc_id', 404, 3.5, trace(101)],
      [at(0), 'GET /v1/quotas', 200, 2.5, trace(100)],
    ]);
    expect(items[2]).toMatchObject({ kind: 'job', document_id: doc1, request_id: 'upload-1', error: null });
    expect(items[1]).toMatchObject({ document_id: doc2, error: 'the PDF has no text layer' });
    expect(items[5]).toMatchObject({ kind: 'request', workspace_id: a.ws, request_id: 'req-0', job: null });
    // Another organization sees its own activity only.
    expect((await list(b.org)).items.map((item) => [item.workspace_id, item.route])).toEqual([
      [b.ws, 'POST /v1/search'],
    ]);
    expect((await list(tenant().org)).items).toEqual([]);
  });

  it('pages with limit and cursor, and refuses a cursor it did not give out', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await list(a.org, { limit: 4, ...(cursor ? { cursor } : {}) });
      seen.push(...page.items.map((item) => item.time));
      cursor = page.next_cursor ?? undefined;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(2);
    expect(seen).toEqual([at(5), at(4), at(3), at(2), at(1), at(0)]);
    await expect(list(a.org, { cursor: 'bm90LWEtY3Vyc29y' })).rejects.toMatchObject({
      code: 'invalid-request',
    });
  });

  it('keeps one entry per request and job however often their events arrive', async () => {
    await h.publish(calls, `${calls.event_id}-again`);
    const ready = settled(a.org, a.ws, doc1, 3.5, 'ready');
    await publishAs(eventSubject(a, 'document.ready'), ready, { ...a, rid: 'again' }, 'ready-again');
    await h.settled();
    expect((await list(a.org)).items).toHaveLength(6);
  });

  it('refuses a job whose body names another tenant than its context', async () => {
    const intruder = tenant();
    const foreign = newId('document');
    // B's context on B's subject, with a body that names A: it must not reach A's activity.
    await publishAs(
      ingestRequestedSubject(intruder),
      accepted(a.org, a.ws, foreign, 6),
      { ...intruder, rid: 'forged' },
      'forged-1',
    );
    await h.settled();
    const listed = [...(await list(a.org)).items, ...(await list(intruder.org)).items];
    expect(listed.map((item) => item.document_id)).not.toContain(foreign);
    expect((await list(a.org)).items).toHaveLength(6);
  });

  it('pairs a job’s outcome that arrives before its acceptance into one entry', async () => {
    const c = tenant();
    const doc = newId('document');
    const ready = settled(c.org, c.ws, doc, 7.25, 'ready');
    await publishAs(eventSubject(c, 'document.ready'), ready, { ...c, rid: 'late-ready' }, ready.event_id);
    await h.settled();
    await publishAs(
      ingestRequestedSubject(c),
      accepted(c.org, c.ws, doc, 7),
      { ...c, rid: 'upload-late', traceId: trace(7) },
      'i-late',
    );
    await h.settled();
    const { items } = await list(c.org);
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({
      kind: 'job',
      document_id: doc,
      status: 'ready',
      time: at(7),
      duration_ms: 250,
      trace_id: trace(7),
      request_id: 'upload-late',
    });
  });

  it('ends an accepted job with its outcome, taking the outcome’s trace only when the acceptance had none', async () => {
    const c = tenant();
    const [traced, untraced] = [newId('document'), newId('document')];
    await publishAs(
      ingestRequestedSubject(c),
      accepted(c.org, c.ws, traced, 8),
      { ...c, rid: 'upload-traced', traceId: trace(8) },
      'i-traced',
    );
    await publishAs(
      ingestRequestedSubject(c),
      accepted(c.org, c.ws, untraced, 9),
      { ...c, rid: 'upload-bare' },
      'i-bare',
    );
    await h.settled();
    for (const [doc, second] of [
      [traced, 8.5],
      [untraced, 9.75],
    ] as const) {
      const ready = settled(c.org, c.ws, doc, second, 'failed');
      await publishAs(
        eventSubject(c, 'document.failed'),
        ready,
        { ...c, rid: `done-${second}`, traceId: trace(20) },
        ready.event_id,
      );
    }
    await h.settled();
    const { items } = await list(c.org);
    expect(items).toEqual([
      expect.objectContaining({
        document_id: untraced,
        status: 'failed',
        error: 'the PDF has no text layer',
        time: at(9),
        duration_ms: 750,
        trace_id: trace(20),
        request_id: 'upload-bare',
      }),
      expect.objectContaining({
        document_id: traced,
        status: 'failed',
        time: at(8),
        duration_ms: 500,
        trace_id: trace(8),
        request_id: 'upload-traced',
      }),
    ]);
  });

  it('is the operator’s alone', async () => {
    await expect(h.request('usage.activity.list', reader(a.org, a.ws), { limit: 5 })).rejects.toMatchObject({
      status: 403,
    });
    const admin = sign(context(a.org, ORG_LEVEL, ['org:admin']));
    await expect(h.request('usage.activity.list', admin, { limit: 5 })).rejects.toMatchObject({
      status: 403,
    });
  });
});
