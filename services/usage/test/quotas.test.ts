import { PLANS } from '@kb/contracts';
import { AppError } from '@kb/errors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secondsToNextMonth } from '../src/domain/periods.js';
import { LIFETIME_RETRY_AFTER_S } from '../src/domain/quotas.js';
import { context, type Harness, orgReader, reader, sign, startUsage, tenant, usageEvent } from './helpers.js';

let h: Harness;

beforeAll(async () => {
  h = await startUsage();
});

afterAll(async () => {
  await h?.stop();
});

/** A key of the workspace without `usage:read`, as the gateway stamps it for an upload. */
const uploader = (org: string, ws: string, plan = 'free') =>
  sign(context(org, ws, ['documents:write'], plan));

describe('usage.quotas.get', () => {
  it('answers the plan’s limits, the workspace’s use and what remains', async () => {
    const { org, ws } = tenant();
    await h.publish(usageEvent(org, ws, 'documents', 10));
    await h.publish(usageEvent(org, ws, 'searches', 25));
    await h.settled();
    const quotas = await h.request('usage.quotas.get', reader(org, ws, 'starter'), {});
    expect(quotas).toEqual({
      plan: 'starter',
      items: [
        {
          metric: 'documents',
          limit: PLANS.starter.documents,
          used: 10,
          remaining: PLANS.starter.documents - 10,
        },
        {
          metric: 'storage_bytes',
          limit: PLANS.starter.storage_bytes,
          used: 0,
          remaining: PLANS.starter.storage_bytes,
        },
        { metric: 'chunks', limit: PLANS.starter.chunks, used: 0, remaining: PLANS.starter.chunks },
        {
          metric: 'searches_per_month',
          limit: PLANS.starter.searches_per_month,
          used: 25,
          remaining: PLANS.starter.searches_per_month - 25,
        },
      ],
    });
  });

  it('applies the workspace’s overrides, asked of the tenant service as that workspace’s admin', async () => {
    const { org, ws } = tenant();
    h.overrides.set(ws, { documents: 5, searches_per_month: 1_000_000 });
    await h.publish(usageEvent(org, ws, 'documents', 2));
    await h.settled();
    const quotas = await h.request('usage.quotas.get', reader(org, ws), {});
    expect(quotas.items[0]).toEqual({ metric: 'documents', limit: 5, used: 2, remaining: 3 });
    // An override can only lower the plan's limit.
    expect(quotas.items[3]).toMatchObject({
      metric: 'searches_per_month',
      limit: PLANS.free.searches_per_month,
    });
    const asked = h.tenantCalls.filter((call) => call.ws === ws);
    expect(asked[0]).toMatchObject({ org, ws, scopes: ['org:admin'] });
  });

  it('bounds a workspace by what its organization has left of the plan', async () => {
    const { org, ws } = tenant();
    const sibling = tenant().ws;
    await h.publish(usageEvent(org, ws, 'documents', PLANS.free.documents - 1));
    await h.settled();
    const quotas = await h.request('usage.quotas.get', reader(org, sibling), {});
    expect(quotas.items[0]).toEqual({
      metric: 'documents',
      limit: PLANS.free.documents,
      used: 0,
      remaining: 1,
    });
    const whole = await h.request('usage.quotas.get', orgReader(org), {});
    expect(whole.items[0]).toEqual({
      metric: 'documents',
      limit: PLANS.free.documents,
      used: PLANS.free.documents - 1,
      remaining: 1,
    });
  });

  it('needs the usage:read scope', async () => {
    const { org, ws } = tenant();
    await expect(h.request('usage.quotas.get', uploader(org, ws), {})).rejects.toMatchObject({ status: 403 });
    await expect(h.request('usage.report.get', uploader(org, ws), {})).rejects.toMatchObject({ status: 403 });
  });
});

describe('usage.quota.check', () => {
  it('lets work through while it fits, for any key of the workspace', async () => {
    const { org, ws } = tenant();
    h.overrides.set(ws, { documents: 5 });
    await h.publish(usageEvent(org, ws, 'documents', 3));
    await h.settled();
    expect(
      await h.request('usage.quota.check', uploader(org, ws), { metric: 'documents', amount: 2 }),
    ).toEqual({
      metric: 'documents',
      limit: 5,
      used: 3,
      remaining: 2,
    });
  });

  it('refuses lifetime quotas with quota-exceeded, naming the workspace, retry after an hour', async () => {
    const { org, ws } = tenant();
    h.overrides.set(ws, { storage_bytes: 1_000 });
    await h.publish(usageEvent(org, ws, 'bytes_ingested', 900));
    await h.settled();
    const refused = await h
      .request('usage.quota.check', uploader(org, ws), { metric: 'storage_bytes', amount: 101 })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(AppError);
    expect(refused).toMatchObject({
      code: 'quota-exceeded',
      status: 429,
      retryAfter: LIFETIME_RETRY_AFTER_S,
    });
    expect((refused as AppError).message).toContain("workspace's storage_bytes quota");
    await h.request('usage.quota.check', uploader(org, ws), { metric: 'storage_bytes', amount: 100 });
  });

  it('refuses monthly quotas until the month ends, and naming the organization when it is the limit', async () => {
    const { org, ws } = tenant();
    const sibling = tenant().ws;
    await h.publish(usageEvent(org, ws, 'searches', PLANS.free.searches_per_month));
    await h.settled();
    const refused = (await h
      .request('usage.quota.check', uploader(org, sibling), { metric: 'searches_per_month', amount: 1 })
      .catch((error: unknown) => error)) as AppError;
    expect(refused).toMatchObject({ code: 'quota-exceeded' });
    expect(refused.message).toMatch(
      /organization's \(free plan\) searches_per_month quota of 10000 has 0 left/,
    );
    const expected = secondsToNextMonth(new Date());
    expect(refused.retryAfter).toBeGreaterThan(expected - 10);
    expect(refused.retryAfter).toBeLessThanOrEqual(expected);
  });

  it('counts last month’s searches no more', async () => {
    const { org, ws } = tenant();
    const lastMonth = new Date();
    lastMonth.setUTCDate(1);
    lastMonth.setUTCMonth(lastMonth.getUTCMonth() - 1);
    await h.publish(usageEvent(org, ws, 'searches', PLANS.free.searches_per_month, lastMonth));
    await h.settled();
    const item = await h.request('usage.quota.check', uploader(org, ws), {
      metric: 'searches_per_month',
      amount: 1,
    });
    expect(item.used).toBe(0);
  });
});

describe('usage.report.get', () => {
  it('refuses ranges that are reversed, too long or not dates', async () => {
    const { org, ws } = tenant();
    const ask = (query: Record<string, string>) =>
      h.request('usage.report.get', reader(org, ws), query as never);
    await expect(ask({ from: '2024-03-02', to: '2024-03-01' })).rejects.toMatchObject({
      code: 'invalid-request',
    });
    await expect(ask({ granularity: 'hour', from: '2024-01-01', to: '2024-03-01' })).rejects.toThrow(
      /at most 31 days/,
    );
    await expect(ask({ from: '2024-13-45' })).rejects.toThrow(/query.from/);
    await expect(ask({ granularity: 'week' })).rejects.toMatchObject({ code: 'invalid-request' });
    expect(await ask({})).toEqual({ items: [] });
  });
});
