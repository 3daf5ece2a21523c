import { randomUUID } from 'node:crypto';
import { createPublisher } from '@kb/bus';
import { meteringSubject, UsageEvent } from '@kb/contracts';
import { createEmbedder, createSparseEncoder } from '@kb/embeddings';
import { runService } from '@kb/runtime';
import { createQdrantClient } from '@kb/vector-store';
import { SearchEnv } from './config.js';
import { buildSearchService } from './service.js';

await runService({
  name: 'search',
  packageJson: new URL('../package.json', import.meta.url),
  env: SearchEnv,
  async start({ config, nc, log, verifier, signer, version, instance, shutdown }) {
    const publisher = createPublisher(nc);
    const served = await buildSearchService({
      nc,
      log,
      verifier,
      version,
      instance,
      qdrant: createQdrantClient({
        url: config.KB_QDRANT_URL,
        ...(config.KB_QDRANT_API_KEY ? { apiKey: config.KB_QDRANT_API_KEY } : {}),
        timeoutMs: config.KB_SEARCH_TIMEOUT_MS,
      }),
      embedder: createEmbedder(config),
      sparse: createSparseEncoder(),
      timeoutMs: config.KB_SEARCH_TIMEOUT_MS,
      onSearched: (tenant) => {
        // Metered after the answer, never failing it. The event id is fresh for every answered search: the
        // request id can be the client's own `x-request-id`, and repeating it must not hide searches.
        const context = {
          org: tenant.org,
          ws: tenant.ws,
          kid: 'search',
          scopes: ['system' as const],
          plan: '',
          rid: tenant.rid,
        };
        const event = {
          v: 1 as const,
          event_id: `search:${randomUUID()}`,
          org_id: tenant.org,
          workspace_id: tenant.ws,
          occurred_at: new Date().toISOString(),
          metric: 'searches' as const,
          value: 1,
        };
        publisher
          .publish(
            meteringSubject(tenant, 'searches'),
            UsageEvent,
            event,
            { context, token: signer.sign(context) },
            event.event_id,
          )
          .catch((error: unknown) => log.warn({ err: error }, 'search usage event not published'));
      },
    });
    shutdown.register('intake', 'nats-service', () => served.stop());
  },
});
