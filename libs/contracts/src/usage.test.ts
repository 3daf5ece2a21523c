import { newId } from '@kb/tenancy';
import { describe, expect, it } from 'vitest';
import { ACTIVITY_PER_EVENT_MAX, type RequestActivity, UsageEvent } from './events.js';
import { QuotaWarning, quotaWarningSubject } from './usage.js';
import { parse } from './validate.js';

const org = newId('org');
const ws = newId('workspace');

describe('quota warnings', () => {
  it('are published on the tenant’s evt.quota.warning subject, `_` standing for the whole organization', () => {
    expect(quotaWarningSubject({ org, ws })).toBe(`kb.${org}.${ws}.evt.quota.warning`);
    expect(quotaWarningSubject({ org, ws: null })).toBe(`kb.${org}._.evt.quota.warning`);
  });

  it('name their threshold and month', () => {
    const warning = {
      v: 1,
      event_id: `quota-warning.${org}._.documents.80.2025-03`,
      org_id: org,
      workspace_id: null,
      occurred_at: '2025-03-04T10:00:00Z',
      plan: 'free',
      metric: 'documents',
      threshold: 80,
      limit: 1_000,
      used: 800,
      period: '2025-03',
    };
    expect(parse(QuotaWarning, warning)).toEqual(warning);
    expect(() => parse(QuotaWarning, { ...warning, threshold: 90 })).toThrow(/threshold/);
    expect(() => parse(QuotaWarning, { ...warning, period: '2025-3' })).toThrow(/period/);
  });
});

describe('usage events', () => {
  it('carry at most ACTIVITY_PER_EVENT_MAX requests, each with a well-formed trace id or none', () => {
    const request: RequestActivity = {
      at: '2025-03-04T10:00:00Z',
      route: 'GET /v1/quotas',
      status: 200,
      duration_ms: 1.25,
      trace_id: '0af7651916cd43dd8448eb211c80319c',
      request_id: 'req-1',
    };
    const event = {
      v: 1,
      event_id: 'api-calls:1',
      org_id: org,
      workspace_id: ws,
      occurred_at: '2025-03-04T10:00:00Z',
      metric: 'api_calls',
      value: 1,
      activity: [request, { ...request, trace_id: null }],
    };
    expect(parse(UsageEvent, event)).toEqual(event);
    const many = { ...event, activity: Array.from({ length: ACTIVITY_PER_EVENT_MAX + 1 }, () => request) };
    expect(() => parse(UsageEvent, many)).toThrow(/activity/);
    expect(() => parse(UsageEvent, { ...event, activity: [{ ...request, trace_id: 'xyz' }] })).toThrow(
      /trace_id/,
    );
  });
});
