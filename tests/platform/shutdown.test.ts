import { createRequester } from '@kb/bus';
import type { OPERATIONS } from '@kb/contracts';
import { AppError } from '@kb/errors';
import { createContextSigner, newId, type TenantContext } from '@kb/tenancy';
import { connect } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { NATS_SERVICES, startPlatform } from './platform.ts';

describe.each(NATS_SERVICES)('SIGTERM with requests in flight: %s', (service) => {
  it('completes or answers a clear retryable error for every request, and exits 0 within 10 s', async () => {
    const platform = await startPlatform([service]);
    const nc = await connect({ servers: platform.env.KB_NATS_URL });
    const signer = createContextSigner(platform.env.KB_CONTEXT_SECRET ?? '');
    const context: TenantContext = {
      org: newId('org'),
      ws: newId('workspace'),
      kid: newId('key'),
      scopes: [],
      plan: 'free',
      rid: 'r',
    };
    const caller = { context, token: signer.sign(context) };
    const request = createRequester(nc, { timeoutMs: 2_000 });
    const op = `${service}.status` as keyof typeof OPERATIONS;
    const outcomes = { ok: 0, retryable: 0, other: [] as unknown[] };
    let running = true;
    const clients = Array.from({ length: 16 }, async () => {
      while (running) {
        try {
          await request(op, caller, {});
          outcomes.ok += 1;
        } catch (error) {
          if (error instanceof AppError && error.retryable && error.status === 503) outcomes.retryable += 1;
          else outcomes.other.push(error);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const target = platform.processes.get(service);
    const started = Date.now();
    const exit = await target?.stop(15_000);
    const took = Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 200));
    running = false;
    await Promise.all(clients);
    await nc.drain();

    expect(exit).toEqual({ code: 0, signal: null });
    expect(took).toBeLessThan(10_000);
    expect(outcomes.ok).toBeGreaterThan(0);
    expect(outcomes.retryable).toBeGreaterThan(0);
    expect(outcomes.other).toEqual([]);
    expect(target?.stdout.some((line) => line.includes('"msg":"stopped"'))).toBe(true);
  });
});

describe('SIGTERM on the gateway', () => {
  it('finishes in-flight HTTP requests and exits 0 within 10 s', async () => {
    const platform = await startPlatform(['gateway']);
    const gateway = platform.processes.get('gateway');
    const inflight = Array.from({ length: 20 }, () =>
      // Bounded, so a connection the gateway failed to close shows up as an assertion, not a hung test.
      fetch(`${platform.gatewayUrl}/readyz`, { signal: AbortSignal.timeout(12_000) }).then((r) => r.status),
    );
    const stopping = Date.now();
    const exitPromise = gateway?.stop(15_000).then((exit) => ({ ...exit, afterMs: Date.now() - stopping }));
    const statuses = await Promise.allSettled(inflight);
    const exit = await exitPromise;
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit?.afterMs).toBeLessThan(10_000);
    for (const result of statuses) {
      // Each request either got its answer (503: the NATS services are not running here) or a refused or
      // closed connection. The client's own timeout only ever fires after the gateway process is gone (it
      // exited within 10 s, checked above), so a connection the gateway held open would fail this test.
      if (result.status === 'fulfilled') expect([200, 503]).toContain(result.value);
      else expect(String(result.reason)).toMatch(/fetch failed|ECONNREFUSED|socket|TimeoutError/);
    }
  });
});
