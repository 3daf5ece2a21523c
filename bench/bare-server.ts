import Fastify from 'fastify';

/** The baseline for gateway throughput: a bare Fastify route answering a small JSON body, in its own process. */
const app = Fastify({ logger: false });
app.get('/v1/bare/:id', async (request) => ({
  id: (request.params as { id: string }).id,
  name: 'bare',
  status: 'active',
}));
const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${JSON.stringify({ msg: 'ready', address })}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
