import { type ServiceProcess, spawnService } from '@kb/testing';
import getPort from 'get-port';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client } from './http.ts';
import { type Platform, startPlatform } from './platform.ts';
import { createOrg, createWorkspace, within } from './tenants.ts';

let platform: Platform;
let second: ServiceProcess;
let secondUrl: string;

beforeAll(async () => {
  platform = await startPlatform();
  const port = await getPort();
  second = await spawnService('gateway', { ...platform.env, KB_GATEWAY_PORT: String(port) });
  secondUrl = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await second?.stop(10_000);
  await platform?.stop();
});

describe('two gateway replicas', () => {
  it('refuses a key revoked through one gateway at the other within 1 s, although it had it cached', async () => {
    const org = await createOrg(platform, 'Replicated');
    const ws = await createWorkspace(platform, org, 'replicated', ['search']);
    const viaSecond = client(secondUrl, ws.key);
    // Warm the second gateway's cache with the valid key.
    expect((await viaSecond('POST', '/v1/tokens', {})).status).toBe(201);
    expect((await viaSecond('POST', '/v1/tokens', {})).status).toBe(201);

    const revoked = await org.admin('DELETE', `/v1/workspaces/${ws.id}/keys/${ws.keyId}`);
    expect(revoked.status).toBe(204);
    const took = await within(1_000, async () => (await viaSecond('POST', '/v1/tokens', {})).status === 401);
    expect(took).toBeLessThan(1_000);
  });

  it('refuses a suspended organization’s keys at the other gateway within 1 s', async () => {
    const org = await createOrg(platform, 'Suspendable');
    const ws = await createWorkspace(platform, org, 'suspendable', ['search']);
    const viaSecond = client(secondUrl, ws.key);
    const adminViaSecond = client(secondUrl, org.adminKey);
    expect((await viaSecond('POST', '/v1/tokens', {})).status).toBe(201);
    expect((await adminViaSecond('GET', `/v1/workspaces/${ws.id}`)).status).toBe(200);

    const operator = client(platform.gatewayUrl, platform.env.KB_MASTER_KEY);
    expect((await operator('PATCH', `/v1/orgs/${org.id}`, { status: 'suspended' })).status).toBe(200);
    const took = await within(1_000, async () => {
      const [key, admin] = await Promise.all([
        viaSecond('POST', '/v1/tokens', {}),
        adminViaSecond('GET', `/v1/workspaces/${ws.id}`),
      ]);
      return key.status === 403 && admin.status === 403;
    });
    expect(took).toBeLessThan(1_000);
  });
});
