import { type Static, Type } from '@sinclair/typebox';

/** Limits a plan grants; a workspace may override any of them downwards. */
export const PlanLimits = Type.Object({
  documents: Type.Integer({ minimum: 0 }),
  storage_bytes: Type.Integer({ minimum: 0 }),
  chunks: Type.Integer({ minimum: 0 }),
  searches_per_month: Type.Integer({ minimum: 0 }),
  requests_per_minute: Type.Integer({ minimum: 1 }),
  upload_bytes: Type.Integer({ minimum: 1 }),
  workspaces: Type.Integer({ minimum: 1 }),
  keys: Type.Integer({ minimum: 1 }),
});
export type PlanLimits = Static<typeof PlanLimits>;

export const PLAN_NAMES = ['free', 'starter', 'pro', 'enterprise'] as const;
export type PlanName = (typeof PLAN_NAMES)[number];
export const PlanName = Type.Union(PLAN_NAMES.map((name) => Type.Literal(name)));

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export const PLANS: Record<PlanName, PlanLimits> = {
  free: {
    documents: 1_000,
    storage_bytes: 1 * GiB,
    chunks: 50_000,
    searches_per_month: 10_000,
    requests_per_minute: 120,
    upload_bytes: 25 * MiB,
    workspaces: 3,
    keys: 10,
  },
  starter: {
    documents: 25_000,
    storage_bytes: 10 * GiB,
    chunks: 1_000_000,
    searches_per_month: 250_000,
    requests_per_minute: 600,
    upload_bytes: 25 * MiB,
    workspaces: 10,
    keys: 50,
  },
  pro: {
    documents: 250_000,
    storage_bytes: 100 * GiB,
    chunks: 10_000_000,
    searches_per_month: 2_500_000,
    requests_per_minute: 3_000,
    upload_bytes: 100 * MiB,
    workspaces: 50,
    keys: 250,
  },
  enterprise: {
    documents: 5_000_000,
    storage_bytes: 2_000 * GiB,
    chunks: 200_000_000,
    searches_per_month: 50_000_000,
    requests_per_minute: 20_000,
    upload_bytes: 500 * MiB,
    workspaces: 1_000,
    keys: 5_000,
  },
};

/** The effective limits of a workspace: the plan's, lowered by any override. */
export function effectiveLimits(plan: PlanName, overrides: Partial<PlanLimits> = {}): PlanLimits {
  const base = PLANS[plan];
  const result = { ...base };
  for (const key of Object.keys(base) as (keyof PlanLimits)[]) {
    const override = overrides[key];
    if (typeof override === 'number') result[key] = Math.min(override, base[key]);
  }
  return result;
}
