import { PLANS, type PlanLimits, type PlanName, type WorkspaceSettings } from '@kb/contracts';
import { AppError, invalid } from '@kb/errors';

/**
 * A workspace's new settings: the patch over the current ones, with the overlap below the chunk size and
 * limit overrides that may only lower the plan's values.
 */
export function mergeSettings(
  plan: PlanName,
  current: WorkspaceSettings,
  patch: Partial<WorkspaceSettings>,
): WorkspaceSettings {
  const chunk_size = patch.chunk_size ?? current.chunk_size;
  const chunk_overlap = patch.chunk_overlap ?? current.chunk_overlap;
  if (chunk_overlap >= chunk_size) {
    throw invalid(`settings.chunk_overlap: must be less than settings.chunk_size (${chunk_size})`);
  }
  const granted = PLANS[plan];
  for (const [name, value] of Object.entries(patch.limits ?? {})) {
    if (!Object.hasOwn(granted, name)) throw invalid(`settings.limits.${name}: is not a plan limit`);
    const allowed = granted[name as keyof PlanLimits];
    if (typeof value !== 'number' || value > allowed) {
      throw invalid(`settings.limits.${name}: may only lower the ${plan} plan's ${allowed}`);
    }
  }
  return { chunk_size, chunk_overlap, limits: { ...current.limits, ...patch.limits } };
}

export const quotaExceeded = (limit: number, what: string, plan: string) =>
  new AppError('quota-exceeded', `the ${plan} plan allows ${limit} ${what}`);

export interface LimitCheck {
  limit: number;
  what: string;
  plan: string;
  /** Counts the live items (optionally only those with an id up to `id`, in creation order). */
  count(upTo?: string): Promise<number>;
}

/** Refuses a creation once `limit` live items exist. */
export async function checkLimit(check: LimitCheck): Promise<void> {
  if ((await check.count()) >= check.limit) throw quotaExceeded(check.limit, check.what, check.plan);
}

/**
 * After inserting `id`: without transactions two concurrent creations can both pass `checkLimit`, so each
 * one counts the items created up to itself (ids are ULIDs, in creation order); the one past the limit
 * undoes its insert and is refused, the earlier one stays.
 */
export async function confirmLimit(
  check: LimitCheck,
  id: string,
  undo: () => Promise<unknown>,
): Promise<void> {
  if ((await check.count(id)) > check.limit) {
    await undo();
    throw quotaExceeded(check.limit, check.what, check.plan);
  }
}
