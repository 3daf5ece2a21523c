import type { HandlerDeps, UsageHandlers } from './deps.js';

export function quotaHandlers({
  quotas,
}: HandlerDeps): UsageHandlers<'usage.quotas.get' | 'usage.quota.check'> {
  return {
    async 'usage.quotas.get'(_request, { tenant }) {
      return quotas.get(tenant);
    },
    async 'usage.quota.check'(request, { tenant }) {
      return quotas.check(tenant, request.metric, request.amount);
    },
  };
}
