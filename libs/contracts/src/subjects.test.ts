import { newId } from '@kb/tenancy';
import { describe, expect, it } from 'vitest';
import {
  dlqSubject,
  eventSubject,
  STREAMS,
  sysSubject,
  tenantSubject,
  tenantWildcard,
  usageSubject,
} from './subjects.js';

const org = newId('org');
const ws = newId('workspace');

describe('subjects', () => {
  it('builds tenant, event, usage and system subjects', () => {
    expect(tenantSubject({ org, ws }, 'search.query')).toBe(`kb.${org}.${ws}.search.query`);
    expect(tenantSubject({ org, ws: null }, 'tenant.workspace.create')).toBe(
      `kb.${org}._.tenant.workspace.create`,
    );
    expect(eventSubject({ org, ws }, 'document.ready')).toBe(`kb.${org}.${ws}.evt.document.ready`);
    expect(usageSubject({ org, ws }, 'searches')).toBe(`kb.${org}.${ws}.metering.searches`);
    expect(tenantWildcard('search.query')).toBe('kb.*.*.search.query');
    expect(sysSubject('tenant.keys.verify')).toBe('kb.sys.tenant.keys.verify');
    expect(dlqSubject('KB_INGEST', 'ingestion')).toBe('kbdlq.kb-ingest.ingestion');
  });

  it('keeps every stream clear of every request subject', () => {
    const requestPrefixes = ['tenant', 'ingestion', 'search', 'usage'];
    for (const stream of Object.values(STREAMS)) {
      for (const subject of stream.subjects) {
        const fourth = subject.split('.')[3];
        expect(requestPrefixes).not.toContain(fourth);
      }
    }
  });

  it.each(['org_*', '>', 'org_x.y', '', ' ', 'ORG_01'])('refuses %j as a tenant token', (bad) => {
    expect(() => tenantSubject({ org: bad, ws }, 'search.query')).toThrow();
    expect(() => tenantSubject({ org, ws: bad }, 'search.query')).toThrow();
  });

  it.each(['search.*', 'search.>', 'search..query', 'Search.query', 'search query'])(
    'refuses %j as an operation',
    (op) => {
      expect(() => tenantSubject({ org, ws }, op)).toThrow(/invalid subject path/);
    },
  );
});
