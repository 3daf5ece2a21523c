import type { Caller, Requester } from '@kb/bus';
import type { OperationName, QuotaMetric, RequestOf, ResponseOf } from '@kb/contracts';
import { Problem } from '@kb/contracts';
import type { FastifyRequest } from 'fastify';
import type { SearchTokens } from '../auth/search-tokens.js';
import type { QuotaChecker } from '../limits/index.js';
import { inRequestSpan } from '../plugins/tracing.js';
import type { Access } from './access.js';

export interface RouteDeps {
  access: Access;
  request: Requester;
  tokens: SearchTokens;
  /** Refuses work over the caller's quota before it is done (429 quota-exceeded). */
  quotas: QuotaChecker;
}

/** Calls a service operation inside the request's trace. */
export function call<K extends OperationName>(
  deps: RouteDeps,
  request: FastifyRequest,
  op: K,
  caller: Caller,
  body: RequestOf<K>,
): Promise<ResponseOf<K>> {
  return inRequestSpan(request, () => deps.request(op, caller, body));
}

/**
 * Refuses work over the caller's quota (429 quota-exceeded) before it is done: the check joins the request's
 * trace, and a check the usage service could not answer is logged on the request's logger.
 */
export function assertQuota(
  deps: RouteDeps,
  request: FastifyRequest,
  caller: Caller,
  metric: QuotaMetric,
  amount: number,
): Promise<void> {
  return inRequestSpan(request, () => deps.quotas.assertAvailable(caller, metric, amount, request.log));
}

/** The problem answers a route documents besides its success. */
export const problems = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((status) => [status, Problem]));

export const BEARER_AUTH = [{ bearer: [] }];
