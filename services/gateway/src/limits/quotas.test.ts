import type { Caller, Requester } from '@kb/bus';
import { AppError, unavailable } from '@kb/errors';
import { createLogger } from '@kb/log';
import { describe, expect, it } from 'vitest';
import { createQuotaChecker } from './quotas.js';

const log = createLogger({ service: 'gateway-test', version: '0', level: 'silent' });
const caller = {
  context: {
    org: 'org_01aaaaaaaaaaaaaaaaaaaaaaaa',
    ws: 'ws_01aaaaaaaaaaaaaaaaaaaaaaaa',
    kid: 'k',
    scopes: [],
    plan: 'free',
    rid: 'r',
  },
  token: 't',
} as Caller;

const answering = (answer: () => Promise<unknown>) => {
  const calls: unknown[] = [];
  const request = (async (op: string, _caller: Caller, body: unknown, options: unknown) => {
    calls.push({ op, body, options });
    return answer();
  }) as unknown as Requester;
  return { request, calls };
};

describe('quota checker', () => {
  it('asks the usage service with a short timeout and passes when the work fits', async () => {
    const { request, calls } = answering(async () => ({
      metric: 'documents',
      limit: 5,
      used: 1,
      remaining: 4,
    }));
    await createQuotaChecker(request, log).assertAvailable(caller, 'documents');
    expect(calls).toEqual([
      { op: 'usage.quota.check', body: { metric: 'documents', amount: 1 }, options: { timeoutMs: 1_000 } },
    ]);
  });

  it('passes the quota-exceeded refusal on, with its Retry-After', async () => {
    const refusal = new AppError('quota-exceeded', 'no more', { retryAfter: 3_600 });
    const { request } = answering(async () => Promise.reject(refusal));
    await expect(createQuotaChecker(request, log).assertAvailable(caller, 'storage_bytes', 10)).rejects.toBe(
      refusal,
    );
  });

  it('lets work through when the usage service does not answer', async () => {
    const { request } = answering(async () => Promise.reject(unavailable('usage is unavailable')));
    await expect(
      createQuotaChecker(request, log).assertAvailable(caller, 'searches_per_month'),
    ).resolves.toBeUndefined();
    const timedOut = answering(async () => Promise.reject(new AppError('timeout', 'slow')));
    await expect(
      createQuotaChecker(timedOut.request, log).assertAvailable(caller, 'documents'),
    ).resolves.toBeUndefined();
    // Its Redis restarting makes it answer with an internal error: the same, metering is not in the way.
    const failing = answering(async () => Promise.reject(new AppError('internal', 'internal error')));
    await expect(
      createQuotaChecker(failing.request, log).assertAvailable(caller, 'documents'),
    ).resolves.toBeUndefined();
  });

  it("logs a check the usage service could not answer on the request's logger when given one", async () => {
    const { request } = answering(async () => Promise.reject(unavailable('usage is unavailable')));
    const lines: unknown[][] = [];
    const requestLog = { warn: (...args: unknown[]) => void lines.push(args) };
    await createQuotaChecker(request, log).assertAvailable(caller, 'documents', 1, requestLog);
    expect(lines).toHaveLength(1);
    expect(lines[0]?.[0]).toMatchObject({ metric: 'documents', org_id: caller.context.org });
    expect(lines[0]?.[1]).toBe('quota not checked: usage service unavailable');
  });

  it('passes other refusals on', async () => {
    const refusal = new AppError('invalid-request', 'metric: unknown');
    const { request } = answering(async () => Promise.reject(refusal));
    await expect(createQuotaChecker(request, log).assertAvailable(caller, 'documents')).rejects.toBe(refusal);
  });
});
