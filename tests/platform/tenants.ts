import { expect } from 'vitest';
import { type Client, client } from './http.ts';
import type { Platform } from './platform.ts';

export interface OrgFixture {
  id: string;
  adminKey: string;
  admin: Client;
}

export interface WorkspaceFixture {
  id: string;
  org: OrgFixture;
  key: string;
  keyId: string;
  as: Client;
}

/** Creates an organization with an admin key through the API, as the operator would. */
export async function createOrg(platform: Platform, name: string, plan = 'starter'): Promise<OrgFixture> {
  const operator = client(platform.gatewayUrl, platform.env.KB_MASTER_KEY);
  const org = await operator<{ id: string }>('POST', '/v1/orgs', { name, plan });
  expect(org.status).toBe(201);
  const key = await operator<{ key: string }>('POST', `/v1/orgs/${org.body.id}/keys`, {
    name: `${name} admin`,
  });
  expect(key.status).toBe(201);
  return { id: org.body.id, adminKey: key.body.key, admin: client(platform.gatewayUrl, key.body.key) };
}

/** Creates a workspace and one key with `scopes` in it. */
export async function createWorkspace(
  platform: Platform,
  org: OrgFixture,
  name: string,
  scopes: string[] = ['documents:read', 'documents:write', 'documents:delete', 'search', 'usage:read'],
  environment = 'production',
): Promise<WorkspaceFixture> {
  const ws = await org.admin<{ id: string }>('POST', `/v1/orgs/${org.id}/workspaces`, { name, environment });
  expect(ws.status).toBe(201);
  const key = await org.admin<{ key: string; id: string }>('POST', `/v1/workspaces/${ws.body.id}/keys`, {
    name: `${name} key`,
    scopes,
  });
  expect(key.status).toBe(201);
  return {
    id: ws.body.id,
    org,
    key: key.body.key,
    keyId: key.body.id,
    as: client(platform.gatewayUrl, key.body.key),
  };
}

/** Polls until `check` passes or `timeoutMs` elapses; returns the elapsed milliseconds. */
export async function within(timeoutMs: number, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await check()) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}
