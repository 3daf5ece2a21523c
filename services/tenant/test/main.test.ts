import { randomBytes } from 'node:crypto';
import { connectNats, createRequester, type NatsConnection } from '@kb/bus';
import { createContextSigner, newId, ORG_LEVEL, SYSTEM_ORG, type TenantContext } from '@kb/tenancy';
import { type ServiceProcess, spawnService, uniqueName } from '@kb/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { log } from './helpers.js';

/** The real entry point, as its own process: config, connections, start, and a clean shutdown. */
const env = {
  KB_NATS_URL: inject('natsUrl'),
  KB_MONGO_URL: `${inject('mongoUrl')}${uniqueName('tenant_main')}`,
  KB_CONTEXT_SECRET: randomBytes(48).toString('base64url'),
  KB_KEY_HASH_SECRET: randomBytes(48).toString('base64url'),
};
const signer = createContextSigner(env.KB_CONTEXT_SECRET);
const sign = (context: TenantContext) => ({ context, token: signer.sign(context) });

let nc: NatsConnection;
let tenant: ServiceProcess;

beforeAll(async () => {
  nc = await connectNats(env.KB_NATS_URL, 'tenant-main-test', log);
  tenant = await spawnService('tenant', env);
});

afterAll(async () => {
  if (tenant) await tenant.stop();
  await nc?.drain();
});

describe('tenant main', () => {
  it('serves requests, then stops cleanly on SIGTERM', async () => {
    const request = createRequester(nc);
    const org = newId('org');
    const operator = sign({ org, ws: ORG_LEVEL, kid: 'master', scopes: ['operator'], plan: '', rid: 'r1' });
    await request('tenant.org.create', operator, { name: 'main' });
    const { key } = await request('tenant.org.keys.create', operator, { name: 'admin' });
    const system = sign({
      org: SYSTEM_ORG,
      ws: ORG_LEVEL,
      kid: 'gateway',
      scopes: ['system'],
      plan: '',
      rid: 'r2',
    });
    expect((await request('tenant.keys.verify', system, { key })).org_id).toBe(org);

    const exit = await tenant.stop();
    expect(exit.code).toBe(0);
    const stopped = tenant.stdout.map((line) => JSON.parse(line)).find((line) => line.msg === 'stopped');
    expect(stopped).toMatchObject({ clean: true });
    expect(tenant.stdout.join('\n')).not.toContain(key.slice(8));
  });
});
