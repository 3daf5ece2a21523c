import { HEADERS, type StreamSpec, UsageEvent } from '@kb/contracts';
import { InMemorySpanExporter, startTelemetry, type Telemetry } from '@kb/telemetry';
import { newId, tryCurrentTenant } from '@kb/tenancy';
import { uniqueName } from '@kb/testing';
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import { SpanKind, trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { consumeDurable, createPublisher, ensureStreams } from '../src/jetstream.js';
import { caller, log, natsConnection, signer, tenant, verifier } from './helpers.js';

let nc: NatsConnection;
let jsm: JetStreamManager;
let telemetry: Telemetry;
const exporter = new InMemorySpanExporter();

beforeAll(async () => {
  telemetry = startTelemetry({ service: 'bus-test', version: '0', exporter, tenant: tryCurrentTenant });
  nc = await natsConnection();
  jsm = await jetstreamManager(nc);
});

afterAll(async () => {
  await nc.drain();
  await telemetry.shutdown();
});

/** A private stream per test, shaped like the platform's usage stream, plus its own dead-letter stream. */
async function privateStreams() {
  // The dead-letter subject is derived from the stream name: kbdlq.<stream-lowercased>.<durable>.
  const token = uniqueName('t')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '');
  const stream: StreamSpec = {
    name: `T_${token.toUpperCase()}`,
    subjects: [`kb.*.*.metering.${token}`],
    description: 'test',
  };
  const dlq: StreamSpec = {
    name: `T_DLQ_${token.toUpperCase()}`,
    subjects: [`kbdlq.t-${token}.>`],
    description: 'test dlq',
  };
  await ensureStreams(jsm, [stream, dlq]);
  return { stream, dlq, metric: token };
}

function usageEvent(context: ReturnType<typeof tenant>, eventId = newId('key')) {
  return {
    v: 1 as const,
    event_id: eventId,
    org_id: context.org,
    workspace_id: context.ws,
    occurred_at: new Date().toISOString(),
    metric: 'searches' as const,
    value: 1,
  };
}

const subjectFor = (context: ReturnType<typeof tenant>, metric: string) =>
  `kb.${context.org}.${context.ws}.metering.${metric}`;

describe('JetStream publish and durable consume', () => {
  it('stores a message once however often it is published with the same Nats-Msg-Id', async () => {
    const { stream, metric } = await privateStreams();
    const publisher = createPublisher(nc);
    const c = caller();
    const event = usageEvent(c.context);
    const first = await publisher.publish(
      subjectFor(c.context, metric),
      UsageEvent,
      event,
      c,
      event.event_id,
    );
    const again = await publisher.publish(
      subjectFor(c.context, metric),
      UsageEvent,
      event,
      c,
      event.event_id,
    );
    expect(first.duplicate).toBe(false);
    expect(again.duplicate).toBe(true);
    expect((await jsm.streams.info(stream.name)).state.messages).toBe(1);
  });

  it('refuses to publish a message that does not match its schema', async () => {
    const { metric } = await privateStreams();
    const c = caller();
    const bad = { ...usageEvent(c.context), value: 'many' } as unknown as ReturnType<typeof usageEvent>;
    await expect(
      createPublisher(nc).publish(subjectFor(c.context, metric), UsageEvent, bad, c, 'x'),
    ).rejects.toThrow(/message\.value/);
  });

  it('continues the publisher’s trace in the consumer’s span, both tagged with the tenant', async () => {
    const { stream, metric } = await privateStreams();
    const c = caller();
    let handlerTrace: string | undefined;
    const consumer = await consumeDurable(nc, {
      stream,
      durable: 'traced',
      schema: UsageEvent,
      scope: null,
      verifier,
      log,
      handler: async () => {
        handlerTrace = trace.getActiveSpan()?.spanContext().traceId;
      },
    });
    const event = usageEvent(c.context);
    const traceId = await trace.getTracer('test').startActiveSpan('caller', async (span) => {
      await createPublisher(nc).publish(subjectFor(c.context, metric), UsageEvent, event, c, event.event_id);
      span.end();
      return span.spanContext().traceId;
    });
    await vi.waitFor(() => expect(handlerTrace).toBe(traceId), { timeout: 10_000 });
    await consumer.stop();
    const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    const producer = spans.find((s) => s.kind === SpanKind.PRODUCER);
    const consumed = spans.find((s) => s.kind === SpanKind.CONSUMER);
    expect(producer?.name).toBe(`publish kb.*.*.metering.${metric}`);
    expect(consumed?.name).toBe(`process ${stream.name}`);
    expect(consumed?.parentSpanContext?.spanId).toBe(producer?.spanContext().spanId);
    for (const span of [producer, consumed]) {
      expect(span?.attributes).toMatchObject({
        'kb.org_id': c.context.org,
        'kb.workspace_id': c.context.ws,
        'messaging.system': 'nats',
        'messaging.message.id': event.event_id,
      });
    }
    expect(consumed?.attributes['messaging.consumer.group.name']).toBe('traced');
  });

  it('acks after success and redelivers failures with bounded attempts, then dead-letters', async () => {
    const { stream, dlq, metric } = await privateStreams();
    const c = caller();
    const attempts = new Map<string, number>();
    const handled: string[] = [];
    const consumer = await consumeDurable(nc, {
      stream,
      durable: 'worker',
      schema: UsageEvent,
      scope: null,
      verifier,
      log,
      maxDeliver: 3,
      backoffMs: [50],
      handler: async (body, { tenant: t }) => {
        expect(t.org).toBe(c.context.org);
        const n = (attempts.get(body.event_id) ?? 0) + 1;
        attempts.set(body.event_id, n);
        if (body.event_id.startsWith('flaky') && n < 2) throw new Error('transient');
        if (body.event_id.startsWith('broken')) throw new Error('always fails');
        handled.push(body.event_id);
      },
    });
    const publisher = createPublisher(nc);
    for (const id of ['ok-1', 'flaky-1', 'broken-1']) {
      await publisher.publish(subjectFor(c.context, metric), UsageEvent, usageEvent(c.context, id), c, id);
    }
    await vi.waitFor(async () => expect((await jsm.streams.info(dlq.name)).state.messages).toBe(1), {
      timeout: 10_000,
    });
    await vi.waitFor(() => expect(handled.sort()).toEqual(['flaky-1', 'ok-1']), { timeout: 10_000 });
    await consumer.stop();
    expect(attempts.get('broken-1')).toBe(3);
    expect(attempts.get('flaky-1')).toBe(2);
    const dead = await jsm.streams.getMessage(dlq.name, {
      last_by_subj: `kbdlq.${dlq.subjects[0]?.split('.')[1]}.worker`,
    });
    expect(dead?.header.get('Kb-Dead-Reason')).toBe('always fails');
    expect(dead?.header.get('Kb-Deliveries')).toBe('3');
    await vi.waitFor(async () => {
      const info = await jsm.consumers.info(stream.name, 'worker');
      expect(info.num_ack_pending).toBe(0);
      expect(info.num_pending).toBe(0);
    });
  });

  it('dead-letters, without running the handler, messages whose context is missing, forged or for another tenant', async () => {
    const { stream, dlq, metric } = await privateStreams();
    let calls = 0;
    const consumer = await consumeDurable(nc, {
      stream,
      durable: 'guarded',
      schema: UsageEvent,
      scope: null,
      verifier,
      log,
      handler: async () => {
        calls += 1;
      },
    });
    const js = createPublisher(nc).js;
    const victim = tenant();
    const attacker = tenant();
    const event = JSON.stringify(usageEvent(victim));
    const noContext = headers();
    noContext.set(HEADERS.org, victim.org);
    noContext.set(HEADERS.workspace, victim.ws);
    await js.publish(subjectFor(victim, metric), event, { headers: noContext, msgID: 'a' });
    const forged = headers();
    forged.set(HEADERS.org, victim.org);
    forged.set(HEADERS.workspace, victim.ws);
    forged.set(HEADERS.context, `${signer.sign(victim).slice(0, -4)}AAAA`);
    await js.publish(subjectFor(victim, metric), event, { headers: forged, msgID: 'b' });
    const crossTenant = headers();
    crossTenant.set(HEADERS.org, attacker.org);
    crossTenant.set(HEADERS.workspace, attacker.ws);
    crossTenant.set(HEADERS.context, signer.sign(attacker));
    await js.publish(subjectFor(victim, metric), event, { headers: crossTenant, msgID: 'c' });

    await vi.waitFor(async () => expect((await jsm.streams.info(dlq.name)).state.messages).toBe(3), {
      timeout: 10_000,
    });
    await consumer.stop();
    expect(calls).toBe(0);
  });

  it('dead-letters a message whose body breaks the schema at once (no retries for bad content)', async () => {
    const { stream, dlq, metric } = await privateStreams();
    let calls = 0;
    const consumer = await consumeDurable(nc, {
      stream,
      durable: 'schema',
      schema: UsageEvent,
      scope: null,
      verifier,
      log,
      handler: async () => {
        calls += 1;
      },
    });
    const c = caller();
    const h = headers();
    h.set(HEADERS.org, c.context.org);
    h.set(HEADERS.workspace, c.context.ws);
    h.set(HEADERS.context, c.token);
    await createPublisher(nc).js.publish(subjectFor(c.context, metric), '{"v":1}', { headers: h });
    await vi.waitFor(async () => expect((await jsm.streams.info(dlq.name)).state.messages).toBe(1), {
      timeout: 10_000,
    });
    await consumer.stop();
    expect(calls).toBe(0);
  });
});
