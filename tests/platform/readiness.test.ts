import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Platform, startPlatform } from './platform.ts';

let platform: Platform;

beforeAll(async () => {
  platform = await startPlatform();
});

afterAll(async () => {
  await platform?.stop();
});

describe('readiness', () => {
  it('answers /healthz and, once NATS, Redis and every service respond, /readyz with 200', async () => {
    const health = await fetch(`${platform.gatewayUrl}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${platform.gatewayUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: 'ready',
      checks: { nats: 'ok', redis: 'ok', tenant: 'ok', ingestion: 'ok', search: 'ok', usage: 'ok' },
    });
  });

  it('runs each service with the Node flags its package.json asks for', () => {
    for (const [name, service] of platform.processes) {
      const manifest = JSON.parse(
        readFileSync(new URL(`../../services/${name}/package.json`, import.meta.url), 'utf8'),
      ) as { kb?: { nodeOptions?: string[] } };
      const args = readFileSync(`/proc/${service.pid}/cmdline`, 'utf8').split('\0');
      for (const flag of manifest.kb?.nodeOptions ?? []) expect(args, name).toContain(flag);
    }
    expect(
      readFileSync(`/proc/${platform.processes.get('gateway')?.pid}/cmdline`, 'utf8').split('\0'),
    ).toContain('--max-semi-space-size=64');
  });

  it('gives every response a request id and a traceparent, and keeps a valid incoming request id', async () => {
    const response = await fetch(`${platform.gatewayUrl}/healthz`, {
      headers: { 'x-request-id': 'client-req-0001' },
    });
    expect(response.headers.get('x-request-id')).toBe('client-req-0001');
    expect(response.headers.get('traceparent')).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
    const fresh = await fetch(`${platform.gatewayUrl}/healthz`, {
      headers: { 'x-request-id': 'bad id\twith spaces' },
    });
    expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('sends security headers with every answer, errors included', async () => {
    for (const path of ['/healthz', '/v1/quotas', '/v1/nothing-here']) {
      const response = await fetch(`${platform.gatewayUrl}${path}`);
      expect(response.headers.get('strict-transport-security'), path).toMatch(/max-age=\d+/);
      expect(response.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(response.headers.get('x-frame-options'), path).toBe('SAMEORIGIN');
      expect(response.headers.get('referrer-policy'), path).toBe('no-referrer');
      expect(response.headers.get('cross-origin-resource-policy'), path).toBe('same-origin');
      expect(response.headers.get('x-powered-by'), path).toBeNull();
    }
  });

  it('answers unknown routes with a problem', async () => {
    const response = await fetch(`${platform.gatewayUrl}/v1/nothing-here`);
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    const problem = (await response.json()) as Record<string, unknown>;
    expect(problem).toMatchObject({ status: 404, title: 'Not found', type: 'urn:kb:problem:not-found' });
    expect(problem.request_id).toBe(response.headers.get('x-request-id'));
  });

  it('publishes an OpenAPI document with every route of the contract, and browsable docs', async () => {
    const response = await fetch(`${platform.gatewayUrl}/openapi.json`);
    expect(response.status).toBe(200);
    const document = (await response.json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    };
    expect(document.openapi).toMatch(/^3\./);
    const routes = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(routes).toEqual(
      expect.arrayContaining([
        'POST /v1/orgs',
        'GET /v1/orgs/{org_id}',
        'PATCH /v1/orgs/{org_id}',
        'POST /v1/orgs/{org_id}/keys',
        'POST /v1/orgs/{org_id}/workspaces',
        'GET /v1/orgs/{org_id}/workspaces',
        'GET /v1/workspaces/{ws_id}',
        'PATCH /v1/workspaces/{ws_id}',
        'DELETE /v1/workspaces/{ws_id}',
        'POST /v1/workspaces/{ws_id}/keys',
        'GET /v1/workspaces/{ws_id}/keys',
        'DELETE /v1/workspaces/{ws_id}/keys/{key_id}',
        'POST /v1/tokens',
      ]),
    );
    const createOrg = document.paths['/v1/orgs']?.post as {
      requestBody: unknown;
      responses: Record<string, unknown>;
    };
    expect(JSON.stringify(createOrg.requestBody)).toContain('enterprise');
    expect(Object.keys(createOrg.responses)).toEqual(expect.arrayContaining(['201', '400', '401']));
    const docs = await fetch(`${platform.gatewayUrl}/docs`, { redirect: 'follow' });
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('<html');
  });

  it('answers 503 naming the service that stopped answering', async () => {
    const search = platform.processes.get('search');
    const exit = await search?.stop(10_000);
    expect(exit?.code).toBe(0);
    const ready = await fetch(`${platform.gatewayUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.headers.get('retry-after')).toBeTruthy();
    const problem = (await ready.json()) as { detail: string };
    expect(problem.detail).toContain('search');
    expect(problem.detail).not.toContain('tenant');
  });
});
