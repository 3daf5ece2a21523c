import {
  type Attributes,
  type Context,
  type Link,
  type Span,
  SpanKind,
  TraceFlags,
} from '@opentelemetry/api';
import {
  ParentBasedSampler,
  type Sampler,
  SamplingDecision,
  type SamplingResult,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace';
import { ATTR_ORG_ID, ATTR_WORKSPACE_ID, type TenantRef } from './tenant.js';

/**
 * The sampling ratios in force: a base ratio for every trace, and per-organization ratios an operator sets at
 * run time (from the `kb-sampling` NATS KV bucket, see libs/runtime) to follow one tenant closely.
 */
export interface SamplingPolicy {
  /** The ratio for traces of `org` (its own if set, else the base); the base when the tenant is unknown. */
  ratioFor(org: string | undefined): number;
  /** Whether the trace `traceId` of `org` is sampled: the same answer in every service, for the same ratio. */
  admits(traceId: string, org: string | undefined): boolean;
  /**
   * Whether the trace could be sampled for some tenant: admitted at the highest ratio in force (the base or
   * an organization's own). False means no tenant's ratio admits it, so its decision need not wait.
   */
  mayAdmit(traceId: string): boolean;
  setBase(ratio: number): void;
  /** Replaces the base with the configured one again. */
  resetBase(): void;
  setOrg(org: string, ratio: number): void;
  clearOrg(org: string): void;
  /** The organizations with a ratio of their own, and their ratios. */
  overrides(): ReadonlyMap<string, number>;
}

export function isRatio(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 1;
}

export function createSamplingPolicy(configuredBase = 1): SamplingPolicy {
  if (!isRatio(configuredBase))
    throw new RangeError(`sampling ratio must be within 0..1, got ${configuredBase}`);
  let base = configuredBase;
  const perOrg = new Map<string, number>();
  // TraceIdRatioBasedSampler decides from the trace id alone, so every service agrees on a trace, and a trace
  // admitted at one ratio is admitted at every higher one. One sampler per distinct ratio in use.
  const samplers = new Map<number, TraceIdRatioBasedSampler>();
  const samplerFor = (ratio: number) => {
    let sampler = samplers.get(ratio);
    if (!sampler) {
      sampler = new TraceIdRatioBasedSampler(ratio);
      samplers.set(ratio, sampler);
    }
    return sampler;
  };
  const admitsAt = (ratio: number, traceId: string) => {
    if (ratio >= 1) return true;
    if (ratio <= 0) return false;
    const result = samplerFor(ratio).shouldSample({} as Context, traceId);
    return result.decision === SamplingDecision.RECORD_AND_SAMPLED;
  };
  /** The highest ratio in force, kept up to date as ratios change (read for every incoming request). */
  let highest = base;
  const updateHighest = () => {
    highest = Math.max(base, ...perOrg.values());
  };
  const check = (ratio: number) => {
    if (!isRatio(ratio)) throw new RangeError(`sampling ratio must be within 0..1, got ${ratio}`);
  };

  const policy: SamplingPolicy = {
    ratioFor: (org) => (org === undefined ? base : (perOrg.get(org) ?? base)),
    admits: (traceId, org) => admitsAt(policy.ratioFor(org), traceId),
    mayAdmit: (traceId) => admitsAt(highest, traceId),
    setBase(ratio) {
      check(ratio);
      base = ratio;
      updateHighest();
    },
    resetBase() {
      base = configuredBase;
      updateHighest();
    },
    setOrg(org, ratio) {
      check(ratio);
      perOrg.set(org, ratio);
      updateHighest();
    },
    clearOrg(org) {
      perOrg.delete(org);
      updateHighest();
    },
    overrides: () => perOrg,
  };
  return policy;
}

/** An incoming HTTP request's span starts before the credential says whose request it is. */
function isIncomingHttp(kind: SpanKind, attributes: Attributes): boolean {
  return kind === SpanKind.SERVER && ('http.request.method' in attributes || 'http.method' in attributes);
}

/**
 * Samples a new trace at its tenant's ratio: the tenant comes from the span's `kb.org_id` attribute or, when
 * absent, from the tenant context current where the span starts; without a tenant, the base ratio applies.
 */
class TenantRatioSampler implements Sampler {
  constructor(
    private readonly policy: SamplingPolicy,
    private readonly tenantOf: () => TenantRef | undefined,
  ) {}

  shouldSample(_context: Context, traceId: string, _name: string, _kind: SpanKind, attributes: Attributes) {
    const fromAttributes = attributes[ATTR_ORG_ID];
    const org = typeof fromAttributes === 'string' ? fromAttributes : this.tenantOf()?.org;
    return {
      decision: this.policy.admits(traceId, org)
        ? SamplingDecision.RECORD_AND_SAMPLED
        : SamplingDecision.NOT_RECORD,
    };
  }

  toString() {
    return 'TenantRatioSampler';
  }
}

/**
 * The platform's sampler: parent-based (a span follows its parent's decision, so a trace is kept or dropped
 * whole across services), with the tenant's ratio for new traces. An incoming HTTP request is the exception:
 * its span is recorded but its decision waits until the credential names the tenant (`adoptTenant`); a
 * client's own `traceparent` keeps its trace id but cannot force sampling. A request whose trace no ratio in
 * force admits is settled at once instead, unrecorded: whatever its tenant, it would be dropped, and at a low
 * base ratio that is most requests, which then cost no span work.
 */
export function createTenantSampler(policy: SamplingPolicy, tenantOf: () => TenantRef | undefined): Sampler {
  const parentBased = new ParentBasedSampler({ root: new TenantRatioSampler(policy, tenantOf) });
  return {
    shouldSample(
      context: Context,
      traceId: string,
      name: string,
      kind: SpanKind,
      attributes: Attributes,
      links: Link[],
    ): SamplingResult {
      if (isIncomingHttp(kind, attributes)) {
        return { decision: policy.mayAdmit(traceId) ? SamplingDecision.RECORD : SamplingDecision.NOT_RECORD };
      }
      return parentBased.shouldSample(context, traceId, name, kind, attributes, links);
    },
    toString: () => `TenantSampler{${parentBased.toString()}}`,
  };
}

let activePolicy: SamplingPolicy | undefined;

/** The policy of the running telemetry (set by `startTelemetry`). */
export function setActivePolicy(policy: SamplingPolicy | undefined): void {
  activePolicy = policy;
}

/**
 * For a span that began before its tenant was known (an HTTP request before its credential was read, a
 * queued job picked up by a worker): tags it with the tenant and, if its sampling decision was left open,
 * makes it now with the tenant's ratio. Spans started under it afterwards follow that decision. `null`
 * settles an open decision with the base ratio (a request no credential was found for).
 */
export function adoptTenant(span: Span | undefined, tenant: TenantRef | null): void {
  if (!span?.isRecording()) return;
  if (tenant) {
    span.setAttribute(ATTR_ORG_ID, tenant.org);
    span.setAttribute(ATTR_WORKSPACE_ID, tenant.ws);
  }
  const context = span.spanContext();
  if (context.traceFlags & TraceFlags.SAMPLED) return;
  // The SDK span hands out its own span context: setting the flag here samples the span and its later children.
  if (activePolicy?.admits(context.traceId, tenant?.org)) context.traceFlags |= TraceFlags.SAMPLED;
}
