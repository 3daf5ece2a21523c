import type { Caller, Requester } from '@kb/bus';
import { effectiveLimits, PLAN_NAMES, PLANS, type PlanLimits, type PlanName } from '@kb/contracts';
import type { Logger } from '@kb/log';
import { type ContextSigner, ORG_LEVEL, type TenantContext } from '@kb/tenancy';

/** What a tenant may use: its plan's limits for the organization, lowered by overrides for a workspace. */
export interface TenantLimits {
  plan: PlanName;
  org: PlanLimits;
  /** The workspace's effective limits; null for an organization-level context. */
  workspace: PlanLimits | null;
}

/** A workspace's limit overrides (its `settings.limits`), from wherever they are kept. */
export type OverridesLookup = (tenant: TenantContext) => Promise<Partial<PlanLimits>>;

const isPlanName = (value: string): value is PlanName => (PLAN_NAMES as readonly string[]).includes(value);

/**
 * Overrides from the tenant service (`tenant.workspace.get`), asked with a context derived from the
 * caller's: same organization, workspace and request id, as an organization admin acting for the usage
 * service. Answers are kept for `ttlMs`, so a change of overrides applies within that time.
 */
export function tenantServiceOverrides(options: {
  request: Requester;
  signer: ContextSigner;
  ttlMs?: number;
  maxEntries?: number;
}): OverridesLookup {
  const ttlMs = options.ttlMs ?? 5_000;
  const maxEntries = options.maxEntries ?? 10_000;
  const cache = new Map<string, { limits: Partial<PlanLimits>; until: number }>();
  return async (tenant) => {
    const cached = cache.get(tenant.ws);
    if (cached && cached.until > Date.now()) return cached.limits;
    const context: TenantContext = { ...tenant, kid: 'usage', scopes: ['org:admin'] };
    const caller: Caller = { context, token: options.signer.sign(context) };
    const workspace = await options.request('tenant.workspace.get', caller, {});
    const limits = workspace.settings.limits;
    cache.delete(tenant.ws);
    if (cache.size >= maxEntries) cache.delete(cache.keys().next().value as string);
    cache.set(tenant.ws, { limits, until: Date.now() + ttlMs });
    return limits;
  };
}

/** The limits of the verified tenant: the plan from its context's `plan` claim, overrides from `lookup`. */
export function createLimits(lookup: OverridesLookup, log: Logger) {
  return async function limitsOf(tenant: TenantContext): Promise<TenantLimits> {
    let plan: PlanName = 'free';
    if (isPlanName(tenant.plan)) plan = tenant.plan;
    else log.warn({ plan: tenant.plan }, 'tenant context names no known plan; using the free plan');
    const org = PLANS[plan];
    if (tenant.ws === ORG_LEVEL) return { plan, org, workspace: null };
    return { plan, org, workspace: effectiveLimits(plan, await lookup(tenant)) };
  };
}

export type LimitsOf = ReturnType<typeof createLimits>;

/** An organization's plan, from wherever plans are kept. */
export type PlanLookup = (org: string) => Promise<PlanName>;

/**
 * Plans from the tenant service (`tenant.org.get` on the organization's own subject, asked with an operator
 * context the usage service signs for that one call: plans are the operator's to set). Events from the
 * ingestion and search services carry no plan, so quota warnings need this. Answers are kept for `ttlMs`.
 */
export function tenantServicePlans(options: {
  request: Requester;
  signer: ContextSigner;
  ttlMs?: number;
  maxEntries?: number;
}): PlanLookup {
  const ttlMs = options.ttlMs ?? 30_000;
  const maxEntries = options.maxEntries ?? 10_000;
  const cache = new Map<string, { plan: PlanName; until: number }>();
  return async (org) => {
    const cached = cache.get(org);
    if (cached && cached.until > Date.now()) return cached.plan;
    const context: TenantContext = {
      org,
      ws: ORG_LEVEL,
      kid: 'usage',
      scopes: ['operator'],
      plan: '',
      rid: `usage-plan-${org}`,
    };
    const organization = await options.request(
      'tenant.org.get',
      { context, token: options.signer.sign(context) },
      {},
    );
    cache.delete(org);
    if (cache.size >= maxEntries) cache.delete(cache.keys().next().value as string);
    cache.set(org, { plan: organization.plan, until: Date.now() + ttlMs });
    return organization.plan;
  };
}
