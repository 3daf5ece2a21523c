import { PLANS } from '@kb/contracts';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RATE_LIMITS, parsePlanRates, requestsPerMinute } from './settings.js';

describe('rate-limit settings', () => {
  it('parse per-plan overrides', () => {
    expect(parsePlanRates('free=5,starter=100')).toEqual({ free: 5, starter: 100 });
    expect(parsePlanRates(undefined)).toEqual({});
  });

  it('take the plan’s rate unless overridden, and the free plan’s for an unknown plan', () => {
    const settings = { ...DEFAULT_RATE_LIMITS, perPlan: { free: 5 } };
    expect(requestsPerMinute(settings, 'free')).toBe(5);
    expect(requestsPerMinute(settings, 'pro')).toBe(PLANS.pro.requests_per_minute);
    expect(requestsPerMinute(DEFAULT_RATE_LIMITS, 'gold')).toBe(PLANS.free.requests_per_minute);
  });
});
