import { hkdfSync } from 'node:crypto';
import { SearchFilter } from '@kb/contracts';
import { isId } from '@kb/tenancy';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { FastifyInstance } from 'fastify';
import type { Principal, WorkspacePrincipal } from './principal.js';

export interface SearchTokens {
  issue(
    parent: WorkspacePrincipal,
    filter: SearchFilter | null,
    expiresInS: number,
  ): { token: string; expires_at: string };
  /** The token's principal, or null when it is not a valid, unexpired search token. */
  verify(token: string): Extract<Principal, { kind: 'search-token' }> | null;
}

const ISSUER = 'kb-gateway';
const AUDIENCE = 'kb-search';
const checkFilter = TypeCompiler.Compile(SearchFilter);

/** Options for `@fastify/jwt`: fixed at registration, so signing and verifying reuse one signer and verifier. */
export function searchTokenJwtOptions(contextSecret: string) {
  return {
    secret: searchTokenKey(contextSecret),
    sign: { algorithm: 'HS256' as const, iss: ISSUER, aud: AUDIENCE },
    verify: {
      algorithms: ['HS256' as const],
      allowedIss: ISSUER,
      allowedAud: AUDIENCE,
      requiredClaims: ['exp'],
    },
  };
}

/** Signing key for search tokens, derived from the context secret so neither can stand in for the other. */
export function searchTokenKey(contextSecret: string): string {
  return Buffer.from(hkdfSync('sha256', contextSecret, 'kb-search-token', 'v1', 32)).toString('base64url');
}

/**
 * Short-lived, search-only tokens for browsers (JWT through @fastify/jwt). The token carries its workspace,
 * the key it was issued from and a filter that is ANDed into every query made with it.
 */
export function createSearchTokens(app: FastifyInstance): SearchTokens {
  return {
    issue(parent, filter, expiresInS) {
      // Expiry goes in the payload so the plugin's one cached signer serves every call.
      const exp = Math.floor(Date.now() / 1000) + expiresInS;
      const token = app.jwt.sign({
        typ: 'search',
        org: parent.org,
        ws: parent.ws,
        kid: parent.kid,
        plan: parent.plan,
        filter,
        exp,
      });
      return { token, expires_at: new Date(exp * 1000).toISOString() };
    },
    verify(token) {
      let claims: Record<string, unknown>;
      try {
        claims = app.jwt.verify(token);
      } catch {
        return null;
      }
      const { typ, org, ws, kid, plan, filter } = claims;
      if (typ !== 'search' || !isId(org, 'org') || !isId(ws, 'workspace') || !isId(kid, 'key')) return null;
      if (filter !== null && !checkFilter.Check(filter)) return null;
      return {
        kind: 'search-token',
        kid,
        org,
        ws,
        plan: typeof plan === 'string' ? plan : 'free',
        scopes: ['search'],
        filter,
      };
    },
  };
}
