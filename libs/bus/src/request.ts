import {
  OPERATIONS,
  type OperationName,
  type OperationSpec,
  parse,
  type RequestOf,
  type ResponseOf,
  sysSubject,
  tenantSubject,
} from '@kb/contracts';
import { AppError } from '@kb/errors';
import { ATTR_ORG_ID, ATTR_WORKSPACE_ID } from '@kb/telemetry';
import { ORG_LEVEL } from '@kb/tenancy';
import type { NatsConnection } from '@nats-io/transport-node';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { fromReply, fromRequestError } from './errors.js';
import { type Caller, stampHeaders } from './headers.js';
import { replyInbox } from './replies.js';
import { messagingAttributes, tracer } from './telemetry.js';

export interface RequestOptions {
  timeoutMs?: number;
}

export type Requester = <K extends OperationName>(
  op: K,
  caller: Caller,
  body: RequestOf<K>,
  options?: RequestOptions,
) => Promise<ResponseOf<K>>;

/**
 * Request/reply on a tenant subject built from the caller's verified context. The request is validated
 * before it leaves and the reply before it is returned; failures surface as AppErrors (503 for no
 * responders and timeouts, the service's own problem otherwise). Its CLIENT span carries the caller's
 * tenant.
 */
export function createRequester(nc: NatsConnection, defaults: { timeoutMs?: number } = {}): Requester {
  const ask = replyInbox(nc);
  return async (op, caller, body, options = {}) => {
    const spec: OperationSpec = OPERATIONS[op];
    const timeout = options.timeoutMs ?? defaults.timeoutMs ?? 5_000;
    const { org, ws } = caller.context;
    const subject = spec.sys
      ? sysSubject(spec.op)
      : tenantSubject({ org, ws: ws === ORG_LEVEL ? null : ws }, spec.op);
    parse(spec.request, body, 'request');
    const payload = JSON.stringify(body);
    const attributes = messagingAttributes({ operation: 'send', subject, bytes: Buffer.byteLength(payload) });
    // The caller's tenant names the span (and decides its sampling when it starts a trace).
    attributes[ATTR_ORG_ID] = org;
    attributes[ATTR_WORKSPACE_ID] = ws;
    return tracer.startActiveSpan(`send ${spec.op}`, { kind: SpanKind.CLIENT, attributes }, async (span) => {
      try {
        const reply = await ask(subject, payload, {
          timeoutMs: timeout,
          headers: stampHeaders(caller),
        }).catch((error: unknown) => {
          throw fromRequestError(error, spec.service, timeout);
        });
        const problem = fromReply(reply);
        if (problem) throw problem;
        return parse(spec.response, reply.json(), 'reply') as ResponseOf<typeof op>;
      } catch (error) {
        const code = error instanceof AppError ? error.code : 'error';
        span.setAttribute('error.type', code);
        span.setStatus({ code: SpanStatusCode.ERROR, message: code });
        throw error;
      } finally {
        span.end();
      }
    });
  };
}
