import { dlqSubject, parse, STREAMS, type StreamSpec } from '@kb/contracts';
import { isAppError, unavailable } from '@kb/errors';
import type { Logger } from '@kb/log';
import {
  authorizeSubject,
  type ContextVerifier,
  runWithTenant,
  type Scope,
  type TenantContext,
} from '@kb/tenancy';
import {
  AckPolicy,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  jetstream,
  jetstreamManager,
  type PubAck,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Static, TSchema } from '@sinclair/typebox';
import { type Caller, extractTraceContext, headersMatch, stampHeaders } from './headers.js';
import { verifyMessageContext } from './verify.js';

const tracer = trace.getTracer('@kb/bus');
const nanos = (ms: number) => ms * 1_000_000;

/** Creates the platform's streams, or updates their subjects; safe to call from every replica at start. */
export async function ensureStreams(
  jsm: JetStreamManager,
  specs: readonly StreamSpec[] = Object.values(STREAMS),
): Promise<void> {
  for (const spec of specs) {
    const config = {
      name: spec.name,
      subjects: spec.subjects,
      description: spec.description,
      duplicate_window: nanos(10 * 60_000),
      max_age: spec.name === STREAMS.deadLetter.name ? nanos(30 * 24 * 3_600_000) : nanos(7 * 24 * 3_600_000),
    };
    try {
      await jsm.streams.info(spec.name);
      await jsm.streams.update(spec.name, config);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      await jsm.streams.add(config);
    }
  }
}

function isNotFound(error: unknown): boolean {
  return error instanceof Error && /not found/i.test(error.message);
}

export interface Publisher {
  /**
   * Publishes a validated message to JetStream with `Nats-Msg-Id = msgId`: a second publication of the same
   * id within the duplicate window is acknowledged as a duplicate and stored once.
   */
  publish<T extends TSchema>(
    subject: string,
    schema: T,
    body: Static<T>,
    caller: Caller,
    msgId: string,
  ): Promise<PubAck>;
  js: JetStreamClient;
}

export function createPublisher(nc: NatsConnection): Publisher {
  const js = jetstream(nc);
  return {
    js,
    async publish(subject, schema, body, caller, msgId) {
      parse(schema, body, 'message');
      return tracer.startActiveSpan(
        `${subject.split('.').slice(3).join('.')} publish`,
        { kind: SpanKind.PRODUCER },
        async (span) => {
          span.setAttributes({
            'messaging.system': 'nats',
            'kb.org_id': caller.context.org,
            'kb.workspace_id': caller.context.ws,
          });
          try {
            return await js.publish(subject, JSON.stringify(body), {
              msgID: msgId,
              headers: stampHeaders(caller, msgId),
              timeout: 5_000,
            });
          } catch (error) {
            span.setStatus({ code: SpanStatusCode.ERROR });
            throw unavailable('the message bus did not acknowledge the message', 1, error);
          } finally {
            span.end();
          }
        },
      );
    },
  };
}

export interface ConsumeOptions<T extends TSchema> {
  stream: StreamSpec;
  durable: string;
  /** Only messages on this subject (nats-server 2.9 accepts one filter per consumer). */
  filterSubject?: string;
  schema: T;
  scope: Scope | null;
  verifier: ContextVerifier;
  log: Logger;
  handler: (body: Static<T>, ctx: { tenant: TenantContext; msg: JsMsg; log: Logger }) => Promise<void>;
  /** Deliveries before a message goes to the dead-letter stream. */
  maxDeliver?: number;
  ackWaitMs?: number;
  /** Delay before each redelivery, by attempt; the last value repeats. */
  backoffMs?: number[];
  concurrency?: number;
}

export interface RunningConsumer {
  /** Stops fetching, waits (up to `timeoutMs`) for in-flight messages to settle. */
  stop(timeoutMs?: number): Promise<void>;
}

/**
 * Consumes a stream durably with explicit acks: success acks, a failure naks with backoff, a message that
 * fails verification or exhausts `maxDeliver` is copied to the dead-letter stream (with the reason) and
 * terminated, so no message is lost and none loops forever.
 */
export async function consumeDurable<T extends TSchema>(
  nc: NatsConnection,
  options: ConsumeOptions<T>,
): Promise<RunningConsumer> {
  const { stream, durable, log } = options;
  const maxDeliver = options.maxDeliver ?? 5;
  const backoff = options.backoffMs ?? [1_000, 5_000, 15_000, 30_000];
  const concurrency = options.concurrency ?? 8;
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const config = {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(options.ackWaitMs ?? 30_000),
    max_ack_pending: Math.max(concurrency * 4, 64),
    ...(options.filterSubject ? { filter_subject: options.filterSubject } : {}),
  };
  try {
    await jsm.consumers.info(stream.name, durable);
    await jsm.consumers.update(stream.name, durable, config);
  } catch (error) {
    if (!isNotFound(error)) throw error;
    await jsm.consumers.add(stream.name, config);
  }
  const consumer = await js.consumers.get(stream.name, durable);
  const messages = await consumer.consume({ max_messages: concurrency });
  const pending = new Set<Promise<void>>();

  async function deadLetter(msg: JsMsg, reason: string): Promise<void> {
    const h = natsHeaders();
    for (const key of msg.headers?.keys() ?? []) h.set(key, msg.headers?.get(key) ?? '');
    h.set('Kb-Dead-Reason', reason.slice(0, 512));
    h.set('Kb-Original-Subject', msg.subject);
    h.set('Kb-Deliveries', String(msg.info.deliveryCount));
    h.set('Nats-Msg-Id', `dlq:${stream.name}:${msg.seq}`);
    await js.publish(dlqSubject(stream.name, durable), msg.data, {
      headers: h,
      msgID: `dlq:${stream.name}:${msg.seq}`,
    });
    // The reason travels in the dead letter's headers; nats-server 2.9 does not accept a reason on TERM.
    msg.term();
  }

  async function process(msg: JsMsg): Promise<void> {
    let tenant: TenantContext;
    try {
      tenant = verifyMessageContext(msg, options.verifier, Math.floor(msg.info.timestampNanos / 1_000_000));
      authorizeSubject(tenant, msg.subject, options.scope);
      if (!headersMatch(msg.headers, tenant))
        throw new Error('tenant headers do not match the tenant context');
    } catch (error) {
      const reason = `refused: ${error instanceof Error ? error.message : 'unverifiable'}`;
      log.warn({ subject: msg.subject, reason, stream: stream.name }, 'refused message');
      await deadLetter(msg, reason);
      return;
    }
    const parent = extractTraceContext(msg.headers);
    await tracer.startActiveSpan(
      `${stream.name} process`,
      { kind: SpanKind.CONSUMER },
      parent,
      async (span) => {
        span.setAttributes({
          'kb.org_id': tenant.org,
          'kb.workspace_id': tenant.ws,
          'messaging.system': 'nats',
        });
        const messageLog = log.child({
          org_id: tenant.org,
          workspace_id: tenant.ws,
          request_id: tenant.rid,
          seq: msg.seq,
        });
        try {
          const body = parse(options.schema, msg.json(), 'message');
          await runWithTenant(tenant, () => options.handler(body, { tenant, msg, log: messageLog }));
          msg.ack();
        } catch (error) {
          span.setStatus({ code: SpanStatusCode.ERROR });
          const permanent = isAppError(error) && error.status >= 400 && error.status < 500;
          const attempt = msg.info.deliveryCount;
          if (permanent || attempt >= maxDeliver) {
            const reason = error instanceof Error ? error.message : 'handler failed';
            messageLog.error({ err: error, attempt }, 'message dead-lettered');
            await deadLetter(msg, reason);
          } else {
            messageLog.warn({ err: error, attempt }, 'message failed; will be redelivered');
            msg.nak(backoff[Math.min(attempt - 1, backoff.length - 1)]);
          }
        } finally {
          span.end();
        }
      },
    );
  }

  const loop = (async () => {
    for await (const msg of messages) {
      const task = process(msg)
        .catch((error: unknown) => log.error({ err: error }, 'message processing failed'))
        .finally(() => pending.delete(task));
      pending.add(task);
      if (pending.size >= concurrency) await Promise.race(pending);
    }
  })();

  return {
    async stop(timeoutMs = 8_000) {
      await messages.close();
      const deadline = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref());
      await Promise.race([Promise.allSettled([loop, ...pending]), deadline]);
      // Acks are fire-and-forget publishes: make sure they reached the server before the caller drains.
      await nc.flush().catch(() => undefined);
    },
  };
}
