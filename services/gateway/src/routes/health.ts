import type { NatsConnection } from '@kb/bus';
import { SERVICE_NAMES } from '@kb/contracts';
import { unavailable } from '@kb/errors';
import { type MetricsEndpoint, PROMETHEUS_CONTENT_TYPE } from '@kb/telemetry';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { sendProblem } from '../plugins/problems.js';

export interface HealthDeps {
  nc: NatsConnection;
  redis: Redis;
  /** How long each dependency may take to answer a readiness probe. */
  probeTimeoutMs?: number;
  /** The process's metrics, for `GET /metrics`. */
  metrics?: MetricsEndpoint;
}

const Readiness = Type.Object({ status: Type.String(), checks: Type.Record(Type.String(), Type.String()) });

/**
 * `/healthz`: the process is alive. `/readyz`: NATS, Redis and every service answer; 503 naming what does not.
 * `/metrics`: the gateway's metrics in Prometheus text format (labels carry no tenant ids, see tracing.ts).
 */
export function healthRoutes(deps: HealthDeps) {
  const timeout = deps.probeTimeoutMs ?? 1_000;
  return async (app: FastifyInstance) => {
    app.get('/healthz', { config: { public: true }, schema: { hide: true } }, async () => ({ status: 'ok' }));
    const metrics = deps.metrics;
    if (metrics) {
      app.get('/metrics', { config: { public: true }, schema: { hide: true } }, async (_request, reply) =>
        reply.type(PROMETHEUS_CONTENT_TYPE).send(await metrics.text()),
      );
    }
    app.get(
      '/readyz',
      { config: { public: true }, schema: { hide: true, response: { 200: Readiness } } },
      async (request, reply) => {
        const probes: Record<string, () => Promise<unknown>> = {
          nats: () => deps.nc.flush(),
          redis: () => deps.redis.ping(),
          ...Object.fromEntries(
            SERVICE_NAMES.map((name) => [name, () => deps.nc.request(`$SRV.PING.${name}`, '', { timeout })]),
          ),
        };
        const results = await Promise.all(
          Object.entries(probes).map(
            async ([name, probe]) => [name, await settle(probe(), timeout)] as const,
          ),
        );
        const checks = Object.fromEntries(results);
        const missing = results.filter(([, state]) => state !== 'ok').map(([name]) => name);
        if (missing.length > 0)
          return sendProblem(
            request,
            reply,
            unavailable(`not ready: ${missing.join(', ')} not answering`, 2),
          );
        return { status: 'ready', checks };
      },
    );
  };
}

async function settle(probe: Promise<unknown>, timeoutMs: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    return await Promise.race([probe.then(() => 'ok'), timeout]);
  } catch {
    return 'down';
  } finally {
    clearTimeout(timer);
  }
}
