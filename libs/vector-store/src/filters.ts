import type { Schemas } from '@qdrant/js-client-rest';
import type { TenantRef } from './collection.js';
import { checkedTenant } from './collection.js';

export type Filter = Schemas['Filter'];
export type Condition = Schemas['Condition'];

/**
 * The tenant conditions every read and delete carries (DESIGN.md, isolation layer 3): even a query that
 * somehow reached the wrong collection finds nothing of another tenant.
 */
export function tenantFilter(tenant: TenantRef): { must: Condition[] } {
  const { org, ws } = checkedTenant(tenant);
  return {
    must: [
      { key: 'org_id', match: { value: org } },
      { key: 'workspace_id', match: { value: ws } },
    ],
  };
}

/** The tenant filter with more conditions ANDed in (`must`), and optional `must_not`/`should` clauses. */
export function withTenant(
  tenant: TenantRef,
  extra: { must?: Condition[]; must_not?: Condition[]; should?: Condition[] } = {},
): Filter {
  const filter: Filter = { must: [...tenantFilter(tenant).must, ...(extra.must ?? [])] };
  if (extra.must_not?.length) filter.must_not = extra.must_not;
  if (extra.should?.length) filter.should = extra.should;
  return filter;
}

/** One document's points (every version unless `version` narrows it), inside the tenant. */
export function documentFilter(
  tenant: TenantRef,
  documentId: string,
  version?: { eq?: number; lt?: number; gte?: number },
): Filter {
  const must: Condition[] = [{ key: 'document_id', match: { value: documentId } }];
  if (version?.eq !== undefined) must.push({ key: 'version', match: { value: version.eq } });
  if (version?.lt !== undefined || version?.gte !== undefined) {
    must.push({
      key: 'version',
      range: {
        ...(version.lt !== undefined ? { lt: version.lt } : {}),
        ...(version.gte !== undefined ? { gte: version.gte } : {}),
      },
    });
  }
  return withTenant(tenant, { must });
}
