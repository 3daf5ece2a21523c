import { type PlanName, QUOTA_METRICS, QUOTA_SOURCES, type QuotaItem, type QuotaMetric } from '@kb/contracts';
import { AppError } from '@kb/errors';
import { ORG_LEVEL, type TenantContext } from '@kb/tenancy';
import { type CounterPeriod, type CounterScope, type Counters, counterKey } from './counters.js';
import type { LimitsOf } from './limits.js';
import { secondsToNextMonth } from './periods.js';

/** Retry-After for a lifetime quota (documents, storage, chunks): it frees up only when something is deleted. */
export const LIFETIME_RETRY_AFTER_S = 3_600;

export interface QuotaView {
  plan: PlanName;
  items: QuotaItem[];
}

/**
 * Quotas of a workspace (or, for an organization-level context, of the organization): limit and use per
 * quota metric, read from the live counters. A workspace's `remaining` is also bounded by what its
 * organization has left of the plan, since the plan's limits cover the organization as a whole.
 */
export function createQuotas(counters: Counters, limitsOf: LimitsOf, now: () => Date = () => new Date()) {
  async function view(tenant: TenantContext, metrics: readonly QuotaMetric[]) {
    const limits = await limitsOf(tenant);
    const at = now();
    const org: CounterScope = { org: tenant.org, ws: null };
    const ws: CounterScope | null = tenant.ws === ORG_LEVEL ? null : { org: tenant.org, ws: tenant.ws };
    const keys = metrics.flatMap((metric) => {
      const { usage, period } = QUOTA_SOURCES[metric];
      const when: CounterPeriod = period === 'month' ? { kind: 'month', at } : { kind: 'lifetime' };
      return [counterKey(org, usage, when), counterKey(ws ?? org, usage, when)];
    });
    const values = await counters.read(keys);
    const views = metrics.map((metric, index) => {
      const orgUsed = values[index * 2] ?? 0;
      const orgLeft = limits.org[metric] - orgUsed;
      const whole = { metric, limit: limits.org[metric], used: orgUsed, remaining: clamp(orgLeft) };
      if (!limits.workspace) return { item: whole, whole };
      const used = values[index * 2 + 1] ?? 0;
      const limit = limits.workspace[metric];
      return { item: { metric, limit, used, remaining: clamp(Math.min(limit - used, orgLeft)) }, whole };
    });
    return { plan: limits.plan, views, at };
  }

  return {
    async get(tenant: TenantContext): Promise<QuotaView> {
      const { plan, views } = await view(tenant, QUOTA_METRICS);
      return { plan, items: views.map(({ item }) => item) };
    },

    /** The workspace's quota (`item`) and its organization's (`whole`) for one metric, and the plan. */
    async usageOf(tenant: TenantContext, metric: QuotaMetric) {
      const { plan, views } = await view(tenant, [metric]);
      const { item, whole } = views[0] as (typeof views)[number];
      return { plan, item, whole };
    },

    /** The quota, if `amount` more fits; otherwise AppError(quota-exceeded) with the seconds until it may. */
    async check(tenant: TenantContext, metric: QuotaMetric, amount: number): Promise<QuotaItem> {
      const { plan, views, at } = await view(tenant, [metric]);
      const { item, whole } = views[0] as (typeof views)[number];
      if (amount <= item.remaining) return item;
      const bound =
        whole.remaining < amount
          ? { whose: `organization's (${plan} plan)`, ...whole }
          : { whose: "workspace's", ...item };
      const monthly = QUOTA_SOURCES[metric].period === 'month';
      throw new AppError(
        'quota-exceeded',
        `the ${bound.whose} ${metric} quota of ${bound.limit} has ${bound.remaining} left, ${amount} asked` +
          (monthly ? '; it resets at the start of next month (UTC)' : '; deleting documents frees it'),
        { retryAfter: monthly ? secondsToNextMonth(at) : LIFETIME_RETRY_AFTER_S },
      );
    },
  };
}

export type Quotas = ReturnType<typeof createQuotas>;

const clamp = (value: number) => Math.max(0, value);
