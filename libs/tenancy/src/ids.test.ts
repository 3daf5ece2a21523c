import { describe, expect, it } from 'vitest';
import { isId, newId } from './ids.js';

describe('ids', () => {
  it('generates lowercase, prefixed, sortable ids that validate', () => {
    const a = newId('org');
    const b = newId('org');
    expect(a).toMatch(/^org_[0-9a-z]{26}$/);
    expect(a < b).toBe(true);
    expect(isId(a, 'org')).toBe(true);
    expect(isId(a, 'workspace')).toBe(false);
    expect(isId(newId('document'), 'document')).toBe(true);
  });

  it.each([
    ['uppercase', 'org_01HZZZZZZZZZZZZZZZZZZZZZZZ'],
    ['subject wildcard', 'org_*'],
    ['subject separator', 'org_0123456789abcdefghjkmnpqrs.x'],
    ['greater-than', '>'],
    ['whitespace', 'org_0123456789abcdefghjkmnpq s'],
    ['NUL byte', 'org_0123456789abcdefghjkmnp\u0000'],
    ['non-ASCII', 'org_0123456789abcdefghjkmnpé'],
    ['too short', 'org_0123'],
    ['oversized', `org_${'a'.repeat(200)}`],
    ['path traversal', '../../etc/passwd'],
    ['prototype key', '__proto__'],
    ['not a string', 42],
  ])('refuses %s', (_name, value) => {
    expect(isId(value)).toBe(false);
  });
});
