import { describe, expect, it } from 'vitest';
import { reportRange, secondsToNextMonth, startOf } from './periods.js';

const at = (iso: string) => new Date(iso);

describe('periods', () => {
  it('round down to the UTC hour and day', () => {
    expect(startOf(at('2024-03-01T10:59:59.999+02:00'), 'hour').toISOString()).toBe(
      '2024-03-01T08:00:00.000Z',
    );
    expect(startOf(at('2024-03-01T23:30:00-01:00'), 'day').toISOString()).toBe('2024-03-02T00:00:00.000Z');
  });

  it('count the seconds to the next UTC month, across a year end', () => {
    expect(secondsToNextMonth(at('2024-12-31T23:59:30Z'))).toBe(30);
    expect(secondsToNextMonth(at('2024-02-29T00:00:00Z'))).toBe(86_400);
  });

  it('default a report to the last 30 days, or 24 hours, before now', () => {
    const now = at('2024-03-31T12:34:56Z');
    expect(reportRange({}, now)).toEqual({ from: at('2024-03-01T00:00:00Z'), to: now, granularity: 'day' });
    expect(reportRange({ granularity: 'hour' }, now)).toEqual({
      from: at('2024-03-30T12:00:00Z'),
      to: now,
      granularity: 'hour',
    });
  });

  it('accept dates and timestamps, and refuse reversed or overlong ranges', () => {
    const now = new Date();
    expect(reportRange({ from: '2024-01-01', to: '2024-12-31T00:00:00Z' }, now).from).toEqual(
      at('2024-01-01T00:00:00Z'),
    );
    expect(() => reportRange({ from: '2024-01-02', to: '2024-01-02' }, now)).toThrow(/before query.to/);
    expect(() => reportRange({ from: '2023-01-01', to: '2024-03-01' }, now)).toThrow(/at most 366 days/);
    expect(() => reportRange({ to: '2024-02-30T25:00:00Z' }, now)).toThrow(/query.to/);
  });
});
