import { type Static, Type } from '@sinclair/typebox';
import { OrgId, Timestamp, WorkspaceId } from './common.js';
import { USAGE_METRICS, type UsageEvent } from './events.js';
import { type PlanLimits, PlanName } from './plans.js';
import { eventSubject, type TenantRef, usageSubject } from './subjects.js';

/** Usage reports and quotas: the bodies of `GET /v1/usage`, `GET /v1/quotas` and the usage service's replies. */

export type UsageMetric = UsageEvent['metric'];
export const UsageMetricSchema = Type.Union(USAGE_METRICS.map((metric) => Type.Literal(metric)));

/**
 * Where a usage event is published: `kb.<org>.<ws>.metering.<metric>`, the metric spelled as a subject token
 * (`api_calls` → `api-calls`: subject tokens take no underscores). Publish every usage event here, with
 * `Nats-Msg-Id` = `event_id`.
 */
export const meteringSubject = (tenant: TenantRef, metric: UsageMetric): string =>
  usageSubject(tenant, metric.replaceAll('_', '-'));

/** The metric a metering subject names (either spelling), or null when it is not a metering subject. */
export function meteringMetricOf(subject: string): string | null {
  const tokens = subject.split('.');
  return tokens.length === 5 && tokens[3] === 'metering' ? (tokens[4] as string).replaceAll('-', '_') : null;
}

/** A date (`2025-05-01`, midnight UTC) or an ISO-8601 timestamp; checked for a real instant by the handler. */
const instant = (description: string) =>
  Type.String({
    pattern: '^\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|[+-]\\d{2}:\\d{2}))?$',
    maxLength: 40,
    description: `${description}: a date (midnight UTC) or an ISO-8601 timestamp`,
  });

const GRANULARITIES = ['day', 'hour'] as const;
export const UsageGranularity = Type.Union(GRANULARITIES.map((g) => Type.Literal(g)));
export type UsageGranularity = (typeof GRANULARITIES)[number];

/** Longest range a report covers, per granularity. */
export const USAGE_REPORT_MAX_DAYS: Record<UsageGranularity, number> = { day: 366, hour: 31 };

export const UsageReportQuery = Type.Object(
  {
    from: Type.Optional(instant('start, inclusive (default: 30 days, or 24 hours, before `to`)')),
    to: Type.Optional(instant('end, exclusive (default: now)')),
    granularity: Type.Optional(
      Type.Union(
        GRANULARITIES.map((g) => Type.Literal(g)),
        { default: 'day' },
      ),
    ),
  },
  { additionalProperties: false },
);
export type UsageReportQuery = Static<typeof UsageReportQuery>;

export const UsageReportItem = Type.Object({
  period_start: Timestamp,
  metric: UsageMetricSchema,
  /** Sum of the period's events; gauges (documents, bytes, chunks) net of deletions, so possibly negative. */
  value: Type.Number(),
});
export const UsageReport = Type.Object({ items: Type.Array(UsageReportItem) });
export type UsageReport = Static<typeof UsageReport>;

/**
 * The plan limits that are quotas on metered usage, and where their use is counted: gauges over the whole
 * life of the workspace (they go down when documents are deleted), or counters of the current UTC month.
 */
export const QUOTA_METRICS = ['documents', 'storage_bytes', 'chunks', 'searches_per_month'] as const;
export type QuotaMetric = (typeof QUOTA_METRICS)[number] & keyof PlanLimits;
export const QuotaMetricSchema = Type.Union(QUOTA_METRICS.map((metric) => Type.Literal(metric)));

export const QUOTA_SOURCES: Record<QuotaMetric, { usage: UsageMetric; period: 'lifetime' | 'month' }> = {
  documents: { usage: 'documents', period: 'lifetime' },
  storage_bytes: { usage: 'bytes_ingested', period: 'lifetime' },
  chunks: { usage: 'chunks_stored', period: 'lifetime' },
  searches_per_month: { usage: 'searches', period: 'month' },
};

export const QuotaItem = Type.Object({
  metric: QuotaMetricSchema,
  /** The workspace's effective limit: the plan's, lowered by the workspace's override. */
  limit: Type.Integer({ minimum: 0 }),
  used: Type.Number(),
  /** What may still be used: also bounded by what the organization as a whole has left of its plan. */
  remaining: Type.Number({ minimum: 0 }),
});
export type QuotaItem = Static<typeof QuotaItem>;

export const Quotas = Type.Object({ plan: PlanName, items: Type.Array(QuotaItem) });
export type Quotas = Static<typeof Quotas>;

/** Asks whether `amount` more of `metric` fits; answered with the quota, or AppError(quota-exceeded). */
export const QuotaCheck = Type.Object(
  { metric: QuotaMetricSchema, amount: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }) },
  { additionalProperties: false },
);
export type QuotaCheck = Static<typeof QuotaCheck>;

/** Shares of a quota at which a warning event is published: once per tenant, quota and calendar month. */
export const QUOTA_WARNING_THRESHOLDS = [80, 100] as const;
export type QuotaWarningThreshold = (typeof QUOTA_WARNING_THRESHOLDS)[number];

/**
 * `kb.<org>.<ws>.evt.quota.warning` (KB_EVENTS; `_` as `<ws>` for the organization as a whole), published by
 * the usage service when a tenant's use of a quota reaches a threshold. `event_id` (also the `Nats-Msg-Id`)
 * is derived from tenant, quota, threshold and period, so consumers can drop a repeated warning by its id.
 */
export const quotaWarningSubject = (tenant: TenantRef): string => eventSubject(tenant, 'quota.warning');

export const QuotaWarning = Type.Object({
  v: Type.Literal(1),
  event_id: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.:-]+$' }),
  org_id: OrgId,
  /** The workspace whose quota it is; null for the organization's plan as a whole. */
  workspace_id: Type.Union([WorkspaceId, Type.Null()]),
  occurred_at: Timestamp,
  plan: PlanName,
  metric: QuotaMetricSchema,
  threshold: Type.Union(QUOTA_WARNING_THRESHOLDS.map((threshold) => Type.Literal(threshold))),
  limit: Type.Integer({ minimum: 0 }),
  used: Type.Number(),
  /** The calendar month (UTC, `YYYY-MM`) the warning is for. */
  period: Type.String({ pattern: '^\\d{4}-\\d{2}$' }),
});
export type QuotaWarning = Static<typeof QuotaWarning>;
