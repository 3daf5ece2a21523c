import { tenantSubject } from '@kb/contracts';
import { connect } from '@nats-io/transport-node';
import Fastify from 'fastify';

/**
 * The baselines for gateway throughput, in their own process: a bare Fastify route answering a small JSON
 * body, and a bare Fastify route that forwards to NATS (`tenant.workspace.get` of organization BENCH_ORG,
 * answered by stand-in-tenant.ts) and returns the reply: what any HTTP front of the services must do at
 * least, without authentication, limits, tracing, logging or validation.
 */
const app = Fastify({ logger: false });
app.get('/v1/bare/:id', async (request) => ({
  id: (request.params as { id: string }).id,
  name: 'bare',
  status: 'active',
}));
if (process.env.KB_NATS_URL) {
  // The client options the platform's own connections use (libs/bus connectNats), so that the NATS client's
  // cost is the same on both sides and the difference is the gateway's own work.
  const nc = await connect({ servers: process.env.KB_NATS_URL, noAsyncTraces: true });
  const org = process.env.BENCH_ORG ?? '';
  app.get('/v1/forward/:id', async (request) => {
    const ws = (request.params as { id: string }).id;
    const answer = await nc.request(tenantSubject({ org, ws }, 'tenant.workspace.get'), '{}', {
      timeout: 5_000,
    });
    return answer.json();
  });
  app.addHook('onClose', () => nc.drain());
}
const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${JSON.stringify({ msg: 'ready', address })}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
