import { describe, expect, it } from 'vitest';
import type { TenantContext } from './context.js';
import { currentTenant, runWithTenant, tenantLogFields, tryCurrentTenant } from './current.js';

const context: TenantContext = { org: 'org_a', ws: 'ws_b', kid: 'key_c', scopes: [], plan: 'free', rid: 'r' };

describe('current tenant', () => {
  it('is visible across awaits inside runWithTenant and absent outside', async () => {
    await runWithTenant(context, async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      expect(currentTenant()).toBe(context);
      expect(tenantLogFields()).toEqual({
        org_id: 'org_a',
        workspace_id: 'ws_b',
        key_id: 'key_c',
        request_id: 'r',
      });
    });
    expect(tryCurrentTenant()).toBeUndefined();
    expect(() => currentTenant()).toThrow(/no tenant context/);
  });
});
