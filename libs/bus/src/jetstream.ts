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
import { type BatchObservableResult, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { Static, TSchema } from '@sinclair/typebox';
import { type Caller, extractTraceContext, headersMatch, stampHeaders } from './headers.js';
import {
  busDurations,
  consumerLagGauges,
  messagingAttributes,
  planLabel,
  secondsSince,
  subjectTemplate,
  tracer,
} from './telemetry.js';
import { assertBodyTenant, verifyMessageContext } from './verify.js';

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
      const payload = JSON.stringify(body);
      // As the caller's tenant: the PRODUCER span carries it, and its context travels in the headers.
      return runWithTenant(caller.context, () =>
        tracer.startActiveSpan(
          `publish ${subjectTemplate(subject)}`,
          {
            kind: SpanKind.PRODUCER,
            attributes: messagingAttributes({
              operation: 'publish',
              subject,
              bytes: Buffer.byteLength(payload),
              messageId: msgId,
            }),
          },
          async (span) => {
            try {
              return await js.publish(subject, payload, {
                msgID: msgId,
                headers: stampHeaders(caller, msgId),
                timeout: 5_000,
              });
            } catch (error) {
              span.setAttribute('error.type', 'unavailable');
              span.setStatus({ code: SpanStatusCode.ERROR });
              throw unavailable('the message bus did not acknowledge the message', 1, error);
            } finally {
              span.end();
            }
          },
        ),
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
  const gauges = consumerLagGauges();
  const labels = { stream: stream.name, consumer: durable };
  // One server round trip per scrape feeds both gauges.
  const observeLag = async (result: BatchObservableResult) => {
    const info = await consumer.info().catch(() => null);
    if (!info) return;
    result.observe(gauges.pending, info.num_pending, labels);
    result.observe(gauges.ackPending, info.num_ack_pending, labels);
  };
  gauges.meter.addBatchObservableCallback(observeLag, [gauges.pending, gauges.ackPending]);

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
    const started = performance.now();
    let outcome = 'ok';
    await runWithTenant(tenant, () =>
      tracer.startActiveSpan(
        `process ${stream.name}`,
        {
          kind: SpanKind.CONSUMER,
          attributes: messagingAttributes({
            operation: 'process',
            subject: msg.subject,
            bytes: msg.data.length,
            messageId: msg.headers?.get('Nats-Msg-Id') || undefined,
            consumerGroup: durable,
          }),
        },
        parent,
        async (span) => {
          span.setAttribute('messaging.nats.delivery_count', msg.info.deliveryCount);
          const messageLog = log.child({ seq: msg.seq });
          try {
            const body = parse(options.schema, msg.json(), 'message');
            assertBodyTenant(body, tenant);
            await options.handler(body, { tenant, msg, log: messageLog });
            msg.ack();
          } catch (error) {
            span.setStatus({ code: SpanStatusCode.ERROR });
            const permanent = isAppError(error) && error.status >= 400 && error.status < 500;
            const attempt = msg.info.deliveryCount;
            if (permanent || attempt >= maxDeliver) {
              const reason = error instanceof Error ? error.message : 'handler failed';
              messageLog.error({ err: error, attempt }, 'message dead-lettered');
              outcome = 'dead-lettered';
              await deadLetter(msg, reason);
            } else {
              messageLog.warn({ err: error, attempt }, 'message failed; will be redelivered');
              outcome = 'retry';
              msg.nak(backoff[Math.min(attempt - 1, backoff.length - 1)]);
            }
            span.setAttribute('error.type', outcome);
          } finally {
            span.end();
            busDurations().consumer.record(secondsSince(started), {
              stream: stream.name,
              consumer: durable,
              outcome,
              plan: planLabel(tenant.plan),
            });
          }
        },
      ),
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
      gauges.meter.removeBatchObservableCallback(observeLag, [gauges.pending, gauges.ackPending]);
      await messages.close();
      const deadline = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref());
      await Promise.race([Promise.allSettled([loop, ...pending]), deadline]);
      // Acks are fire-and-forget publishes: make sure they reached the server before the caller drains.
      await nc.flush().catch(() => undefined);
    },
  };
}
