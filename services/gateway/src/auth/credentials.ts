import { timingSafeEqual } from 'node:crypto';
import type { Requester } from '@kb/bus';
import type { VerifiedKey } from '@kb/contracts';
import { unauthorized } from '@kb/errors';
import { type ContextSigner, isScope, isWellFormedApiKey, SYSTEM_ORG } from '@kb/tenancy';
import { type KeyCache, keyDigest } from './key-cache.js';
import type { Principal } from './principal.js';
import type { SearchTokens } from './search-tokens.js';

export interface CredentialDeps {
  masterKey: string;
  cache: KeyCache;
  request: Requester;
  signer: ContextSigner;
  tokens: SearchTokens;
  /** Parent keys revoked recently: search tokens minted from them stop working at once. */
  revokedKeyIds: ReadonlySet<string>;
}

const BEARER = /^Bearer ([\x21-\x7e]{1,512})$/;

/**
 * Resolves the Authorization header to a principal. A credential of the wrong shape (bad checksum, unknown
 * prefix) is refused here, without any NATS or store call.
 */
export function createCredentialResolver(deps: CredentialDeps) {
  const master = Buffer.from(keyDigest(deps.masterKey), 'latin1');

  async function verifyApiKey(key: string, requestId: string): Promise<VerifiedKey> {
    const context = {
      org: SYSTEM_ORG,
      ws: '_',
      kid: 'gateway',
      scopes: ['system' as const],
      plan: '',
      rid: requestId,
    };
    return deps.request('tenant.keys.verify', { context, token: deps.signer.sign(context) }, { key });
  }

  /**
   * Answers at once (no promise) for the master key, a key verified within the last seconds and a search
   * token; only a key the cache does not hold is verified over NATS.
   */
  return function resolve(
    authorization: string | undefined,
    requestId: string,
  ): Principal | Promise<Principal> {
    const match = authorization ? BEARER.exec(authorization) : null;
    if (!match)
      throw unauthorized('missing or malformed Authorization header: expected "Bearer <credential>"');
    const credential = match[1] as string;

    // One digest serves the master-key comparison and the key cache.
    const digest = keyDigest(credential);
    if (digest.length === master.length && timingSafeEqual(Buffer.from(digest, 'latin1'), master))
      return { kind: 'operator', kid: 'master', scopes: ['operator'] };

    if (credential.startsWith('kb_')) {
      const cached = deps.cache.getByDigest(digest);
      if (cached) return principalOf(cached);
      if (!isWellFormedApiKey(credential)) throw unauthorized('invalid API key');
      return verifyApiKey(credential, requestId).then((verified) => {
        deps.cache.setByDigest(digest, verified);
        return principalOf(verified);
      });
    }

    const token = deps.tokens.verify(credential);
    if (!token) throw unauthorized('invalid credential');
    if (deps.revokedKeyIds.has(token.kid)) throw unauthorized('search token was issued by a revoked key');
    return token;
  };
}

function principalOf(verified: VerifiedKey): Principal {
  const scopes = verified.scopes.filter(isScope);
  if (verified.workspace_id === null) {
    return { kind: 'org-admin', kid: verified.key_id, org: verified.org_id, plan: verified.plan, scopes };
  }
  return {
    kind: 'workspace',
    kid: verified.key_id,
    org: verified.org_id,
    ws: verified.workspace_id,
    plan: verified.plan,
    scopes,
  };
}
