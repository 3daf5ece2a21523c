import { ensureStreams } from '@kb/bus';
import { STREAMS } from '@kb/contracts';
import { runService } from '@kb/runtime';
import { connectMongo } from '@kb/store';
import { jetstreamManager } from '@nats-io/jetstream';
import { TenantEnv } from './config.js';
import { startAuditConsumer } from './handlers/audit.js';
import { buildTenantService, type TenantService } from './service.js';

await runService({
  name: 'tenant',
  packageJson: new URL('../package.json', import.meta.url),
  env: TenantEnv,
  async start({ config, nc, log, verifier, signer, version, instance, shutdown }) {
    const mongo = await connectMongo(config.KB_MONGO_URL, log);
    let tenant: TenantService | undefined;
    // One step, in order: the last key-use batch must be written before the connection closes.
    shutdown.register('close', 'mongodb', async () => {
      await tenant?.close();
      await mongo.close();
    });
    // Before the service answers: a workspace deletion publishes on KB_EVENTS.
    await ensureStreams(await jetstreamManager(nc), [STREAMS.audit, STREAMS.events, STREAMS.deadLetter]);
    tenant = await buildTenantService({
      nc,
      mongo,
      log,
      verifier,
      signer,
      version,
      instance,
      keyHashSecret: config.KB_KEY_HASH_SECRET,
    });
    shutdown.register('intake', 'nats-service', () => tenant?.stop());
    const consumer = await startAuditConsumer(nc, { audit: tenant.audit, verifier, log });
    shutdown.register('intake', 'audit-consumer', () => consumer.stop());
  },
});
