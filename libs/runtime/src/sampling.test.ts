import { createSamplingPolicy } from '@kb/telemetry';
import { describe, expect, it } from 'vitest';
import { applySamplingEntry } from './sampling.js';

const ORG = 'org_01aaaaaaaaaaaaaaaaaaaaaaaa';
const put = (key: string, value: string) => ({ key, operation: 'PUT' as const, string: () => value });
const del = (key: string) => ({ key, operation: 'DEL' as const, string: () => '' });

describe('applySamplingEntry', () => {
  it('sets and clears an organization’s ratio and the base', () => {
    const policy = createSamplingPolicy(0.1);
    expect(applySamplingEntry(policy, put(ORG, '1'))).toBe(true);
    expect(policy.ratioFor(ORG)).toBe(1);
    expect(applySamplingEntry(policy, put('default', ' 0.5\n'))).toBe(true);
    expect(policy.ratioFor(undefined)).toBe(0.5);
    expect(applySamplingEntry(policy, del(ORG))).toBe(true);
    expect(policy.ratioFor(ORG)).toBe(0.5);
    expect(applySamplingEntry(policy, del('default'))).toBe(true);
    expect(policy.ratioFor(ORG)).toBe(0.1);
  });

  it('ignores keys that are not organizations and values that are not ratios', () => {
    const policy = createSamplingPolicy(0.1);
    for (const entry of [
      put('ws_01aaaaaaaaaaaaaaaaaaaaaaaa', '1'),
      put(ORG, '2'),
      put(ORG, 'all'),
      put(ORG, ''),
    ]) {
      expect(applySamplingEntry(policy, entry)).toBe(false);
    }
    expect(policy.overrides().size).toBe(0);
  });
});
