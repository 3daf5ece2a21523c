import { USAGE_REPORT_MAX_DAYS, type UsageGranularity, type UsageReportQuery } from '@kb/contracts';
import { invalid } from '@kb/errors';

/** UTC periods: usage is bucketed by the hour and day it occurred, quotas by calendar month. */

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export const startOfDay = (at: Date): Date =>
  new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));

export const startOfHour = (at: Date): Date => new Date(Math.floor(at.getTime() / HOUR_MS) * HOUR_MS);

export const startOf = (at: Date, granularity: UsageGranularity): Date =>
  granularity === 'day' ? startOfDay(at) : startOfHour(at);

/** `YYYY-MM-DD` */
export const dayKey = (at: Date): string => at.toISOString().slice(0, 10);

/** `00`…`23` */
export const hourKey = (at: Date): string => at.toISOString().slice(11, 13);

/** `YYYY-MM` */
export const monthKey = (at: Date): string => at.toISOString().slice(0, 7);

export const startOfNextMonth = (at: Date): Date =>
  new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1));

/** Whole seconds from `now` until the next calendar month (UTC) begins; at least 1. */
export const secondsToNextMonth = (now: Date): number =>
  Math.max(1, Math.ceil((startOfNextMonth(now).getTime() - now.getTime()) / 1000));

function parseInstant(value: string, field: string): Date {
  const at = new Date(value.length === 10 ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(at.getTime())) throw invalid(`query.${field}: is not a valid date or timestamp`);
  return at;
}

export interface ReportRange {
  /** The first period's start (`from` rounded down to the granularity). */
  from: Date;
  /** Exclusive end. */
  to: Date;
  granularity: UsageGranularity;
}

/** The periods a report covers: defaults filled in, order and length checked. */
export function reportRange(query: UsageReportQuery, now: Date): ReportRange {
  const granularity = query.granularity ?? 'day';
  const to = query.to === undefined ? now : parseInstant(query.to, 'to');
  const defaultSpan = granularity === 'day' ? 30 * DAY_MS : DAY_MS;
  const from = startOf(
    query.from === undefined ? new Date(to.getTime() - defaultSpan) : parseInstant(query.from, 'from'),
    granularity,
  );
  if (from.getTime() >= to.getTime()) throw invalid('query.from: must be before query.to');
  const maxDays = USAGE_REPORT_MAX_DAYS[granularity];
  if (to.getTime() - from.getTime() > maxDays * DAY_MS) {
    throw invalid(`query.from: a ${granularity} report covers at most ${maxDays} days`);
  }
  return { from, to, granularity };
}
