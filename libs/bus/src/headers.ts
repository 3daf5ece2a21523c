import { HEADERS } from '@kb/contracts';
import type { TenantContext } from '@kb/tenancy';
import { type MsgHdrs, headers as natsHeaders } from '@nats-io/transport-node';
import {
  context as otelContext,
  propagation,
  type TextMapGetter,
  type TextMapSetter,
} from '@opentelemetry/api';

const setter: TextMapSetter<MsgHdrs> = { set: (carrier, key, value) => carrier.set(key, value) };
const getter: TextMapGetter<MsgHdrs | undefined> = {
  get: (carrier, key) => carrier?.get(key) || undefined,
  keys: (carrier) => (carrier ? carrier.keys() : []),
};

/** A caller's credentials on the bus: the verified tenant and its signed token. */
export interface Caller {
  context: TenantContext;
  token: string;
}

/** Headers of a tenant message: tenant ids, signed context, request id and the active trace context. */
export function stampHeaders(caller: Caller, msgId?: string): MsgHdrs {
  const h = natsHeaders();
  h.set(HEADERS.org, caller.context.org);
  h.set(HEADERS.workspace, caller.context.ws);
  h.set(HEADERS.context, caller.token);
  h.set(HEADERS.requestId, caller.context.rid);
  if (msgId) h.set('Nats-Msg-Id', msgId);
  propagation.inject(otelContext.active(), h, setter);
  return h;
}

/** The OpenTelemetry context carried by a message's `traceparent`/`tracestate` headers. */
export const extractTraceContext = (h: MsgHdrs | undefined) =>
  propagation.extract(otelContext.active(), h, getter);

/** Checks that the plain tenant headers agree with the verified context (they are informational only). */
export function headersMatch(h: MsgHdrs | undefined, context: TenantContext): boolean {
  return h?.get(HEADERS.org) === context.org && h?.get(HEADERS.workspace) === context.ws;
}
