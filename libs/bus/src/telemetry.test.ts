import { describe, expect, it } from 'vitest';
import { subjectTemplate } from './telemetry.js';

describe('subjectTemplate', () => {
  it('replaces the tenant tokens of a tenant subject by wildcards', () => {
    expect(subjectTemplate('kb.org_a.ws_b.search.query')).toBe('kb.*.*.search.query');
    expect(subjectTemplate('kb.org_a._.tenant.workspace.list')).toBe('kb.*.*.tenant.workspace.list');
    expect(subjectTemplate('kb.org_a.ws_b.evt.document.ready')).toBe('kb.*.*.evt.document.ready');
  });

  it('leaves platform subjects and subjects without an operation as they are', () => {
    for (const subject of [
      'kb.sys.tenant.keys.verify',
      'kb.org_a.ws_b',
      'kb',
      'kbdlq.KB_USAGE.x',
      '$SRV.PING',
    ])
      expect(subjectTemplate(subject)).toBe(subject);
  });
});
