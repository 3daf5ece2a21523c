import {
  HEADERS,
  OPERATIONS,
  type OperationName,
  type OperationsOf,
  parse,
  type RequestOf,
  type ResponseOf,
  type ServiceName,
  sysSubject,
  tenantWildcard,
} from '@kb/contracts';
import { invalid, isAppError, unauthorized } from '@kb/errors';
import type { Logger } from '@kb/log';
import { authorizeSubject, type ContextVerifier, runWithTenant, type TenantContext } from '@kb/tenancy';
import { type Service, type ServiceMsg, Svcm } from '@nats-io/services';
import type { NatsConnection } from '@nats-io/transport-node';
import { type Span, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { toBusProblem } from './errors.js';
import { extractTraceContext, headersMatch } from './headers.js';
import { busDurations, messagingAttributes, planLabel, secondsSince, tracer } from './telemetry.js';
import { verifyMessageContext } from './verify.js';

export interface HandlerContext {
  tenant: TenantContext;
  subject: string;
  log: Logger;
}

export type Handler<K extends OperationName> = (
  request: RequestOf<K>,
  ctx: HandlerContext,
) => Promise<ResponseOf<K>>;
export type Handlers<S extends ServiceName> = { [K in OperationsOf<S>]: Handler<K> };

/** Called for every refused message, so the service can record the attempt. */
export type RefusalRecorder = (refusal: {
  subject: string;
  reason: string;
  status: number;
  org?: string;
  ws?: string;
}) => void;

export interface ServeOptions<S extends ServiceName> {
  name: S;
  version: string;
  description: string;
  instance: string;
  handlers: Handlers<S>;
  verifier: ContextVerifier;
  log: Logger;
  onRefused?: RefusalRecorder;
}

export interface ServedService {
  service: Service;
  /** Stops taking requests, then waits (up to `timeoutMs`) for those in flight to answer. */
  stop(timeoutMs?: number): Promise<void>;
  inFlight(): number;
}

/**
 * Registers a NATS micro-service (discoverable with `$SRV.PING|INFO|STATS`) with one endpoint per catalog
 * operation of the service, on the wildcard tenant subject, in the default queue group. Every message is
 * verified before its handler runs: signed context (signature, expiry), subject tenant equal to the
 * context's, tenant headers equal to the context's, and the operation's scope.
 */
export async function serveOperations<S extends ServiceName>(
  nc: NatsConnection,
  options: ServeOptions<S>,
): Promise<ServedService> {
  const { name, handlers, log } = options;
  // The services package is built against an older nats-core; the connection object is the same protocol.
  const svcm = new Svcm(nc as unknown as ConstructorParameters<typeof Svcm>[0]);
  const service = await svcm.add({
    name,
    version: options.version,
    description: options.description,
    metadata: { instance: options.instance },
  });
  const pending = new Set<Promise<void>>();
  const group = service.addGroup();
  for (const op of Object.keys(handlers) as OperationsOf<S>[]) {
    const spec = OPERATIONS[op];
    const handler = handlers[op] as unknown as Handler<OperationName>;
    group.addEndpoint(spec.op.replaceAll('.', '-'), {
      subject: 'sys' in spec && spec.sys ? sysSubject(spec.op) : tenantWildcard(spec.op),
      metadata: { scope: spec.scope ?? 'any' },
      handler: (error, msg) => {
        if (error) {
          log.error({ err: error, op: spec.op }, 'endpoint subscription failed');
          return;
        }
        const task = handle(msg, op, handler).finally(() => pending.delete(task));
        pending.add(task);
      },
    });
  }

  async function handle(msg: ServiceMsg, op: OperationName, handler: Handler<OperationName>): Promise<void> {
    const spec = OPERATIONS[op];
    const started = performance.now();
    const parent = extractTraceContext(msg.headers);
    const span = {
      kind: SpanKind.SERVER,
      attributes: messagingAttributes({ operation: 'process', subject: msg.subject, bytes: msg.data.length }),
    };
    const record = (outcome: string, plan?: string) =>
      busDurations().server.record(secondsSince(started), {
        operation: spec.op,
        outcome,
        plan: planLabel(plan),
      });
    let tenant: TenantContext;
    try {
      tenant = verifyMessageContext(msg, options.verifier);
      authorizeSubject(tenant, msg.subject, spec.scope);
      if (!headersMatch(msg.headers, tenant))
        throw unauthorized('tenant headers do not match the tenant context');
    } catch (error) {
      tracer.startActiveSpan(`process ${spec.op}`, span, parent, (refused) => refuse(msg, refused, error));
      record('refused');
      return;
    }
    // The span starts as the verified tenant, so it and everything under it carry the tenant.
    await runWithTenant(tenant, () =>
      tracer.startActiveSpan(`process ${spec.op}`, span, parent, async (active: Span) => {
        // The operation's logger is made when something logs: most requests log nothing.
        let opLog: Logger | undefined;
        const requestLog = () => {
          opLog ??= log.child({ op: spec.op });
          return opLog;
        };
        let outcome = 'ok';
        try {
          const request = parse(spec.request, decode(msg), 'request');
          const context = {
            tenant,
            subject: msg.subject,
            get log() {
              return requestLog();
            },
          };
          const response = await handler(request, context);
          msg.respond(JSON.stringify(parse(spec.response, response, 'response')));
        } catch (error) {
          const { status, problem } = toBusProblem(error);
          if (!isAppError(error)) requestLog().error({ err: error }, 'handler failed');
          outcome = problem.code;
          active.setAttribute('error.type', problem.code);
          active.setStatus({ code: SpanStatusCode.ERROR, message: problem.code });
          msg.respondError(status, problem.detail, JSON.stringify(problem));
        } finally {
          active.end();
          record(outcome, tenant.plan);
        }
      }),
    );
  }

  function refuse(msg: ServiceMsg, span: Span, error: unknown): void {
    const known = isAppError(error) ? error : unauthorized('tenant context could not be verified');
    const { status, problem } = toBusProblem(known);
    const refusal = {
      subject: msg.subject,
      reason: known.message,
      status,
      org: msg.headers?.get(HEADERS.org) || undefined,
      ws: msg.headers?.get(HEADERS.workspace) || undefined,
    };
    log.warn({ refusal }, 'refused message');
    options.onRefused?.(refusal);
    span.setAttribute('error.type', 'refused');
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'refused' });
    span.end();
    msg.respondError(status, problem.detail, JSON.stringify(problem));
  }

  return {
    service,
    inFlight: () => pending.size,
    async stop(timeoutMs = 8_000) {
      await service.stop();
      const deadline = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref());
      await Promise.race([Promise.allSettled([...pending]), deadline]);
    },
  };
}

function decode(msg: ServiceMsg): unknown {
  if (msg.data.length === 0) return {};
  try {
    return msg.json();
  } catch {
    throw invalid('request body is not valid JSON');
  }
}
