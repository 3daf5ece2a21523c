import {
  QUOTA_METRICS,
  QUOTA_SOURCES,
  QUOTA_WARNING_THRESHOLDS,
  type QuotaItem,
  type QuotaMetric,
  type QuotaWarning,
  type UsageMetric,
} from '@kb/contracts';
import type { Logger } from '@kb/log';
import type { TenantContext } from '@kb/tenancy';
import type { UsageStores } from '../store/index.js';
import { isDuplicateKey } from '../store/index.js';
import type { PlanLookup } from './limits.js';
import { monthKey } from './periods.js';
import type { Quotas } from './quotas.js';
import { createCoalescer } from './serial.js';

/** Publishes one warning on JetStream with `Nats-Msg-Id` = its `event_id`. */
export type PublishWarning = (warning: QuotaWarning) => Promise<void>;

/** The quota a usage metric counts against, if any (`searches` → `searches_per_month`). */
const QUOTA_OF = new Map<UsageMetric, QuotaMetric>(
  QUOTA_METRICS.map((metric) => [QUOTA_SOURCES[metric].usage, metric]),
);

/**
 * Quota warnings at 80% and 100% (QUOTA_WARNING_THRESHOLDS), checked after each counted event of a quota's
 * metric, for the event's workspace (its effective limit) and its organization (the plan's limit). Each
 * warning is published once per tenant, quota, threshold and calendar month: its id is derived from those,
 * used as `Nats-Msg-Id`, and recorded in MongoDB after JetStream acknowledged it. A crash in between
 * publishes it again with the same id, which JetStream drops within its duplicate window (and consumers by
 * `event_id` after it). A use that jumps past both thresholds publishes both, 80 first.
 */
export function createQuotaWarnings(deps: {
  stores: UsageStores;
  quotas: Quotas;
  planOf: PlanLookup;
  publish: PublishWarning;
  log: Logger;
  now?: () => Date;
}) {
  const now = deps.now ?? (() => new Date());
  // Ids known to be published, so a tenant above a threshold costs no store read per event.
  const known = new Set<string>();

  async function publishOnce(warning: QuotaWarning): Promise<void> {
    if (known.has(warning.event_id)) return;
    const scope = { org_id: warning.org_id, workspace_id: warning.workspace_id };
    const repo = deps.stores.warnings.in(scope);
    if (!(await repo.findOne({ _id: warning.event_id }))) {
      await deps.publish(warning);
      try {
        await repo.create({ _id: warning.event_id, published_at: new Date() });
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
      }
      deps.log.info(
        { metric: warning.metric, threshold: warning.threshold, workspace_id: warning.workspace_id },
        'quota warning published',
      );
    }
    if (known.size >= 50_000) known.clear();
    known.add(warning.event_id);
  }

  // Events counted together ask together: one check of the quota after the last of them sees them all.
  const coalesced = createCoalescer();

  return {
    /** Publishes the warnings the workspace's and organization's use of `metric`'s quota has earned. */
    check(org: string, ws: string, metric: UsageMetric): Promise<void> {
      const quota = QUOTA_OF.get(metric);
      if (!quota) return Promise.resolve();
      return coalesced(`${org}/${ws}/${quota}`, () => checkQuota(org, ws, quota));
    },
  };

  async function checkQuota(org: string, ws: string, quota: QuotaMetric): Promise<void> {
    const plan = await deps.planOf(org);
    const tenant: TenantContext = { org, ws, kid: 'usage', scopes: [], plan, rid: 'quota-warnings' };
    const { item, whole } = await deps.quotas.usageOf(tenant, quota);
    const at = now();
    const period = monthKey(at);
    const owners: [string | null, QuotaItem][] = [
      [ws, item],
      [null, whole],
    ];
    for (const [workspace, usage] of owners) {
      for (const threshold of QUOTA_WARNING_THRESHOLDS) {
        if (usage.limit <= 0 || usage.used * 100 < usage.limit * threshold) continue;
        await publishOnce({
          v: 1,
          event_id: `quota-warning.${org}.${workspace ?? '_'}.${quota}.${threshold}.${period}`,
          org_id: org,
          workspace_id: workspace,
          occurred_at: at.toISOString(),
          plan,
          metric: quota,
          threshold,
          limit: usage.limit,
          used: usage.used,
          period,
        });
      }
    }
  }
}

export type QuotaWarnings = ReturnType<typeof createQuotaWarnings>;
