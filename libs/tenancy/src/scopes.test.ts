import { describe, expect, it } from 'vitest';
import { isScope, scopeAllows } from './scopes.js';

describe('scopes', () => {
  it('allows only granted scopes, and org:admin to the operator', () => {
    expect(scopeAllows(['search'], 'search')).toBe(true);
    expect(scopeAllows(['search'], 'documents:write')).toBe(false);
    expect(scopeAllows(['org:admin'], 'search')).toBe(false);
    expect(scopeAllows(['operator'], 'org:admin')).toBe(true);
    expect(isScope('documents:read')).toBe(true);
    expect(isScope('admin')).toBe(false);
  });
});
