import { describe, expectTypeOf, it } from 'vitest';
import { OPERATIONS, type OperationsOf } from './messages.js';

describe('operation catalog', () => {
  it('keeps each operation’s service literal, so a handler map per service is complete by type', () => {
    expectTypeOf<OperationsOf<'search'>>().toEqualTypeOf<'search.status' | 'search.query'>();
    expectTypeOf<'tenant.keys.verify'>().toExtend<OperationsOf<'tenant'>>();
    expectTypeOf<'search.status'>().not.toExtend<OperationsOf<'tenant'>>();
  });

  it('builds every subject suffix from its service name', () => {
    for (const [name, spec] of Object.entries(OPERATIONS)) {
      if (name !== spec.op || !spec.op.startsWith(`${spec.service}.`))
        throw new Error(`${name} is inconsistent`);
    }
  });
});
