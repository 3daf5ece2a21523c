import { PLAN_NAMES } from '@kb/contracts';
import { boundedLabel, DURATION_BUCKETS_S } from '@kb/telemetry';
import {
  type Attributes,
  type Histogram,
  type Meter,
  metrics,
  type ObservableGauge,
  trace,
} from '@opentelemetry/api';

export const tracer = trace.getTracer('@kb/bus');

/** A subject with its tenant tokens as wildcards: `kb.*.*.search.query`; the same for every tenant. */
export function subjectTemplate(subject: string): string {
  if (!subject.startsWith('kb.') || subject.startsWith('kb.sys.')) return subject;
  const orgEnd = subject.indexOf('.', 3);
  const wsEnd = orgEnd < 0 ? -1 : subject.indexOf('.', orgEnd + 1);
  return wsEnd < 0 ? subject : `kb.*.*${subject.slice(wsEnd)}`;
}

/** OpenTelemetry messaging attributes of a NATS span (never the message's content). */
export function messagingAttributes(options: {
  operation: 'send' | 'publish' | 'process';
  subject: string;
  bytes?: number;
  messageId?: string;
  consumerGroup?: string;
}): Attributes {
  return {
    'messaging.system': 'nats',
    'messaging.operation.type': options.operation === 'process' ? 'process' : 'send',
    'messaging.operation.name': options.operation,
    'messaging.destination.name': options.subject,
    'messaging.destination.template': subjectTemplate(options.subject),
    ...(options.bytes !== undefined ? { 'messaging.message.body.size': options.bytes } : {}),
    ...(options.messageId ? { 'messaging.message.id': options.messageId } : {}),
    ...(options.consumerGroup ? { 'messaging.consumer.group.name': options.consumerGroup } : {}),
  };
}

/** The plan as a metric label: one of the plans, or `other` (never a tenant id: see libs/telemetry). */
export const planLabel = (plan: string | undefined) => boundedLabel(plan, PLAN_NAMES);

let durations: { server: Histogram; consumer: Histogram } | undefined;

/**
 * The bus's duration histograms, created on first use (after telemetry has started, so they reach its meter):
 * - `kb.nats.server.duration` {operation, outcome, plan}: requests answered by this service's endpoints;
 * - `kb.messaging.process.duration` {stream, consumer, outcome, plan}: JetStream messages consumed.
 * `outcome` is `ok` or the problem code (`refused`, `retry`, `dead-lettered` for consumers).
 */
export function busDurations() {
  if (!durations) {
    const meter = metrics.getMeter('@kb/bus');
    const advice = { explicitBucketBoundaries: DURATION_BUCKETS_S };
    durations = {
      server: meter.createHistogram('kb.nats.server.duration', {
        description: 'Time to answer a NATS request, by operation and outcome',
        unit: 's',
        advice,
      }),
      consumer: meter.createHistogram('kb.messaging.process.duration', {
        description: 'Time to process a JetStream message, by stream, durable consumer and outcome',
        unit: 's',
        advice,
      }),
    };
  }
  return durations;
}

export const secondsSince = (startedMs: number) => (performance.now() - startedMs) / 1000;

let lagGauges: { meter: Meter; pending: ObservableGauge; ackPending: ObservableGauge } | undefined;

/**
 * Consumer lag, observed at each scrape from the server's consumer info, {stream, consumer}:
 * - `kb.messaging.consumer.pending`: messages in the stream not yet delivered to the durable consumer;
 * - `kb.messaging.consumer.ack_pending`: delivered, not yet acknowledged (in progress or awaiting redelivery).
 */
export function consumerLagGauges() {
  if (!lagGauges) {
    const meter = metrics.getMeter('@kb/bus');
    lagGauges = {
      meter,
      pending: meter.createObservableGauge('kb.messaging.consumer.pending', {
        description: 'Messages not yet delivered to the durable consumer',
      }),
      ackPending: meter.createObservableGauge('kb.messaging.consumer.ack_pending', {
        description: 'Messages delivered to the durable consumer and not yet acknowledged',
      }),
    };
  }
  return lagGauges;
}
