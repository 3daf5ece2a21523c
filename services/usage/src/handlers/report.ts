import { USAGE_METRICS, type UsageReport } from '@kb/contracts';
import { ORG_LEVEL, type TenantContext } from '@kb/tenancy';
import { type ReportRange, reportRange, startOfDay } from '../domain/periods.js';
import type { RollupDoc } from '../store/index.js';
import type { HandlerDeps, UsageHandlers } from './deps.js';

const HOUR_MS = 3_600_000;

/** The rollups a tenant's report reads: its workspace's, or for an organization-level context the organization's. */
export const rollupScope = (tenant: TenantContext) => ({
  org_id: tenant.org,
  workspace_id: tenant.ws === ORG_LEVEL ? null : tenant.ws,
});

export function reportHandlers({ stores, now }: HandlerDeps): UsageHandlers<'usage.report.get'> {
  return {
    async 'usage.report.get'(request, { tenant }) {
      const range = reportRange(request, now());
      const days = await stores.rollups
        .in(rollupScope(tenant))
        .find({ day: { $gte: startOfDay(range.from), $lt: range.to } });
      return { items: toItems(days, range) };
    },
  };
}

/** Day documents to report items inside the range, by period then metric (in catalog order). */
function toItems(days: RollupDoc[], range: ReportRange): UsageReport['items'] {
  const items: { at: number; metric: RollupDoc['metric']; value: number }[] = [];
  for (const day of days) {
    const start = new Date(day.day).getTime();
    if (range.granularity === 'day') {
      items.push({ at: start, metric: day.metric, value: day.value });
      continue;
    }
    for (const [hour, value] of Object.entries(day.hours ?? {})) {
      items.push({ at: start + Number(hour) * HOUR_MS, metric: day.metric, value });
    }
  }
  const order = (metric: RollupDoc['metric']) => USAGE_METRICS.indexOf(metric);
  return items
    .filter((item) => item.at >= range.from.getTime() && item.at < range.to.getTime())
    .sort((a, b) => a.at - b.at || order(a.metric) - order(b.metric))
    .map((item) => ({
      period_start: new Date(item.at).toISOString(),
      metric: item.metric,
      value: item.value,
    }));
}
