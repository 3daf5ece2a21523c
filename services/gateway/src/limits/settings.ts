import { PLAN_NAMES, PLANS, type PlanName } from '@kb/contracts';

/** How the gateway rate-limits (see rate-limit.ts); every field has a production default. */
export interface RateLimitSettings {
  /** Requests per minute by plan, replacing the plan's own (KB_RATE_LIMIT_OVERRIDE). */
  perPlan: Partial<Record<PlanName, number>>;
  /** An organization may make this many times its plan's per-key rate across all its keys. */
  orgFactor: number;
  /** Unauthenticated requests (none or a bad credential) per window per client address. */
  anonymousPerWindow: number;
  windowMs: number;
}

export const DEFAULT_RATE_LIMITS: RateLimitSettings = {
  perPlan: {},
  orgFactor: 2,
  anonymousPerWindow: 120,
  windowMs: 60_000,
};

const isPlanName = (value: string): value is PlanName => (PLAN_NAMES as readonly string[]).includes(value);

/** `free=5,starter=100` → `{free: 5, starter: 100}`; the config schema has checked the shape already. */
export function parsePlanRates(value: string | undefined): Partial<Record<PlanName, number>> {
  const rates: Partial<Record<PlanName, number>> = {};
  for (const pair of (value ?? '').split(',')) {
    const [plan, rate] = pair.split('=').map((part) => part.trim());
    if (plan && rate && isPlanName(plan) && Number(rate) >= 1) rates[plan] = Math.floor(Number(rate));
  }
  return rates;
}

/** Requests per minute per key for `plan` (an unknown plan gets the free plan's). */
export function requestsPerMinute(settings: RateLimitSettings, plan: string): number {
  const known: PlanName = isPlanName(plan) ? plan : 'free';
  return settings.perPlan[known] ?? PLANS[known].requests_per_minute;
}
