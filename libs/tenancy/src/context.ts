import { forbidden, unauthorized } from '@kb/errors';
import { createSigner, createVerifier, TokenError } from 'fast-jwt';
import { isId } from './ids.js';
import { isScope, type Scope, scopeAllows } from './scopes.js';

/**
 * The signed tenant context: minted by the gateway from a verified credential, stamped on every NATS message
 * (`Kb-Context` header) and verified by every service before it does anything.
 */
export interface TenantContext {
  /** Organization id, or `sys` for platform-internal requests. */
  org: string;
  /** Workspace id, or `_` for organization-level requests. */
  ws: string;
  /** Id of the credential that made the request (`master` for the operator). */
  kid: string;
  scopes: Scope[];
  plan: string;
  /** Request id, for correlating logs across services. */
  rid: string;
}

export const SYSTEM_ORG = 'sys';
export const ORG_LEVEL = '_';
const ISSUER = 'kb-gateway';
const AUDIENCE = 'kb-services';

/** What the signature covers: everything but the request id, which travels in its own header. */
export type SignedContext = Omit<TenantContext, 'rid'>;

export interface ContextSigner {
  /** The token for `context` (its request id is not signed: the same tenant, key and scopes share one). */
  sign(context: SignedContext | TenantContext): string;
}

export interface ContextVerifier {
  /**
   * Verifies signature, expiry and shape; throws AppError(unauthorized) when any is wrong. `at` (epoch ms)
   * checks expiry at another instant: a stored message is judged by when it was published.
   */
  verify(token: string, options?: { at?: number }): SignedContext;
}

const MAX_REUSED_TOKENS = 10_000;

/**
 * Signs contexts valid for `ttlSeconds`. A token is handed out again for the first third of its life to
 * every call with the same claims, so a busy credential costs one signature every few seconds rather than
 * one per message (and receivers verify a token they have seen from their verifier's cache); every token
 * handed out still has two thirds of its life ahead.
 */
export function createContextSigner(secret: string, ttlSeconds = 30): ContextSigner {
  const signer = createSigner({
    key: secret,
    algorithm: 'HS256',
    expiresIn: ttlSeconds * 1000,
    iss: ISSUER,
    aud: AUDIENCE,
  });
  const reuseMs = (ttlSeconds * 1000) / 3;
  const issued = new Map<string, { token: string; until: number }>();
  return {
    sign({ org, ws, kid, scopes, plan }) {
      const key = `${org} ${ws} ${kid} ${plan} ${scopes.join(',')}`;
      const now = Date.now();
      const known = issued.get(key);
      if (known && known.until > now) return known.token;
      const token = signer({ org, ws, kid, scopes: [...scopes], plan });
      issued.delete(key);
      if (issued.size >= MAX_REUSED_TOKENS) issued.delete(issued.keys().next().value as string);
      issued.set(key, { token, until: now + reuseMs });
      return token;
    },
  };
}

const CLOCK_TOLERANCE_MS = 1_000;

export function createContextVerifier(secret: string): ContextVerifier {
  const options = {
    key: secret,
    algorithms: ['HS256' as const],
    allowedIss: ISSUER,
    allowedAud: AUDIENCE,
    requiredClaims: ['exp', 'org', 'ws', 'kid', 'scopes'],
    cache: 1000,
    clockTolerance: CLOCK_TOLERANCE_MS,
  };
  const verifyNow = createVerifier(options);
  const verifySignature = createVerifier({ ...options, ignoreExpiration: true });
  return {
    verify(token, { at } = {}) {
      let claims: Record<string, unknown>;
      try {
        claims = (at === undefined ? verifyNow(token) : verifySignature(token)) as Record<string, unknown>;
      } catch (error) {
        const reason =
          error instanceof TokenError && error.code === TokenError.codes.expired ? 'expired' : 'invalid';
        throw unauthorized(`tenant context is ${reason}`);
      }
      if (
        at !== undefined &&
        (typeof claims.exp !== 'number' || claims.exp * 1000 + CLOCK_TOLERANCE_MS < at)
      ) {
        throw unauthorized('tenant context is expired');
      }
      return toContext(claims);
    },
  };
}

function toContext(claims: Record<string, unknown>): SignedContext {
  const { org, ws, kid, scopes, plan } = claims;
  const orgOk = org === SYSTEM_ORG || isId(org, 'org');
  const wsOk = ws === ORG_LEVEL || isId(ws, 'workspace');
  const scopesOk = Array.isArray(scopes) && scopes.every(isScope);
  if (!orgOk || !wsOk || !scopesOk || typeof kid !== 'string') {
    throw unauthorized('tenant context has an invalid shape');
  }
  return {
    org: org as string,
    ws: ws as string,
    kid,
    scopes: scopes as Scope[],
    plan: typeof plan === 'string' ? plan : '',
  };
}

/** Tenant tokens of a subject `kb.<org>.<ws>.…`, or of `kb.sys.…`. */
export function subjectTenant(subject: string): { org: string; ws: string } | null {
  const tokens = subject.split('.');
  if (tokens[0] !== 'kb' || tokens.length < 3) return null;
  if (tokens[1] === SYSTEM_ORG) return { org: SYSTEM_ORG, ws: ORG_LEVEL };
  const [, org, ws] = tokens;
  if (!isId(org, 'org') || !(ws === ORG_LEVEL || isId(ws, 'workspace'))) return null;
  return { org, ws: ws as string };
}

/**
 * Checks that a verified context may act on `subject` with `required` scope: the subject's tenant tokens
 * must equal the context's, and the scopes must allow the operation. Throws AppError otherwise.
 */
export function authorizeSubject(context: SignedContext, subject: string, required: Scope | null): void {
  const tenant = subjectTenant(subject);
  if (!tenant) throw unauthorized(`subject ${subject} carries no valid tenant`);
  if (tenant.org !== context.org || tenant.ws !== context.ws) {
    throw unauthorized('subject tenant does not match the tenant context');
  }
  if (required !== null && !scopeAllows(context.scopes, required)) {
    throw forbidden(`operation requires the ${required} scope`);
  }
}
