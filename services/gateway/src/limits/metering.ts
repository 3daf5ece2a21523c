import type { UsageMeter } from '@kb/bus';
import type { RequestActivity } from '@kb/contracts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { routeInfo } from '../plugins/route.js';
import { isExempt } from './rate-limit.js';

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** What the operator's activity list shows of a request: route, status, duration and the trace it answered with. */
export function requestActivity(request: FastifyRequest, reply: FastifyReply): RequestActivity {
  const traceparent = reply.getHeader('traceparent');
  const traceId = typeof traceparent === 'string' ? (TRACEPARENT.exec(traceparent)?.[1] ?? null) : null;
  const elapsed = reply.elapsedTime;
  return {
    at: new Date(Date.now() - elapsed).toISOString(),
    route: `${request.method} ${routeInfo(request).url}`.slice(0, 256),
    status: reply.statusCode,
    duration_ms: Math.round(elapsed * 1000) / 1000,
    trace_id: traceId && !/^0+$/.test(traceId) ? traceId : null,
    request_id: request.id.slice(0, 128),
  };
}

/**
 * Meters every authenticated request of a workspace key or search token after its answer (requests refused
 * with 429 are not charged, but appear in the activity), and publishes what is left when the server closes.
 */
export function registerMetering(app: FastifyInstance, meter: UsageMeter): void {
  app.addHook('onResponse', (request, reply, done) => {
    const principal = request.principal;
    if (principal && 'ws' in principal && !isExempt(request)) {
      // Requests refused with 429 are listed in the activity without being charged.
      const charged = reply.statusCode === 429 ? 0 : 1;
      meter.record(principal.org, principal.ws, principal.plan, charged, requestActivity(request, reply));
    }
    done();
  });
  app.addHook('onClose', () => meter.stop());
}
