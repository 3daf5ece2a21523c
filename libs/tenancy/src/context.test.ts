import { createSigner } from 'fast-jwt';
import { describe, expect, it, vi } from 'vitest';
import {
  authorizeSubject,
  createContextSigner,
  createContextVerifier,
  subjectTenant,
  type TenantContext,
} from './context.js';
import { newId } from './ids.js';

const secret = 's'.repeat(48);
const org = newId('org');
const ws = newId('workspace');
const context: TenantContext = { org, ws, kid: newId('key'), scopes: ['search'], plan: 'free', rid: 'req-1' };

describe('signed tenant context', () => {
  const verifier = createContextVerifier(secret);

  it('round-trips through sign and verify, without the request id', () => {
    const token = createContextSigner(secret).sign(context);
    const { rid: _rid, ...signed } = context;
    expect(verifier.verify(token)).toEqual(signed);
    expect(Buffer.from(token.split('.')[1] as string, 'base64url').toString()).not.toContain('req-1');
  });

  it('hands out one token per claims for a third of its life, then signs a new one', () => {
    const signer = createContextSigner(secret, 3);
    const first = signer.sign(context);
    expect(signer.sign({ ...context, rid: 'req-2' })).toBe(first);
    expect(signer.sign({ ...context, scopes: ['search', 'usage:read'] })).not.toBe(first);
    expect(signer.sign({ ...context, ws: newId('workspace') })).not.toBe(first);
    vi.useFakeTimers({ now: Date.now() + 1_100, toFake: ['Date'] });
    try {
      expect(signer.sign(context)).not.toBe(first);
    } finally {
      vi.useRealTimers();
    }
  });

  it('refuses a token signed with another secret', () => {
    const token = createContextSigner('t'.repeat(48)).sign(context);
    expect(() => verifier.verify(token)).toThrow(/invalid/);
  });

  it('refuses an expired token', () => {
    const sign = createSigner({
      key: secret,
      iss: 'kb-gateway',
      aud: 'kb-services',
      clockTimestamp: Date.now() - 120_000,
      expiresIn: 10_000,
    });
    expect(() => verifier.verify(sign({ ...context }))).toThrow(/expired/);
  });

  it('refuses a tampered payload', () => {
    const [header, , signature] = createContextSigner(secret).sign(context).split('.');
    const forged = Buffer.from(
      JSON.stringify({ ...context, org: newId('org'), exp: 9_999_999_999 }),
    ).toString('base64url');
    expect(() => verifier.verify(`${header}.${forged}.${signature}`)).toThrow(/invalid/);
  });

  it('refuses an unsigned token', () => {
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(context)).toString('base64url')}.`;
    expect(() => verifier.verify(none)).toThrow(/invalid/);
  });

  it('refuses claims of the wrong shape even when signed', () => {
    const bad = createContextSigner(secret).sign({ ...context, org: 'org_*' });
    expect(() => verifier.verify(bad)).toThrow(/shape/);
    const badScope = createContextSigner(secret).sign({ ...context, scopes: ['root' as never] });
    expect(() => verifier.verify(badScope)).toThrow(/shape/);
  });
});

describe('authorizeSubject', () => {
  it('accepts the context on its own subject', () => {
    expect(() => authorizeSubject(context, `kb.${org}.${ws}.search.query`, 'search')).not.toThrow();
  });

  it('refuses another organization or workspace in the subject', () => {
    expect(() => authorizeSubject(context, `kb.${newId('org')}.${ws}.search.query`, 'search')).toThrow(
      /does not match/,
    );
    expect(() => authorizeSubject(context, `kb.${org}.${newId('workspace')}.search.query`, 'search')).toThrow(
      /does not match/,
    );
    expect(() => authorizeSubject(context, `kb.${org}._.search.query`, 'search')).toThrow(/does not match/);
  });

  it('refuses a missing scope with 403 and a malformed subject with 401', () => {
    expect(() => authorizeSubject(context, `kb.${org}.${ws}.documents.delete`, 'documents:delete')).toThrow(
      expect.objectContaining({ status: 403 }),
    );
    expect(() => authorizeSubject(context, 'kb.*.>.search.query', 'search')).toThrow(
      expect.objectContaining({ status: 401 }),
    );
  });

  it('lets the operator act as an organization admin', () => {
    const operator: TenantContext = { ...context, ws: '_', kid: 'master', scopes: ['operator'] };
    expect(() =>
      authorizeSubject(operator, `kb.${org}._.tenant.workspace.create`, 'org:admin'),
    ).not.toThrow();
    expect(() => authorizeSubject(operator, `kb.${org}._.search.query`, 'search')).toThrow(/scope/);
  });

  it('parses tenant tokens only from well-formed subjects', () => {
    expect(subjectTenant(`kb.${org}.${ws}.x`)).toEqual({ org, ws });
    expect(subjectTenant('kb.sys.tenant.keys.verify')).toEqual({ org: 'sys', ws: '_' });
    expect(subjectTenant('other.subject.x')).toBeNull();
    expect(subjectTenant(`kb.${org}.ws_bad.x`)).toBeNull();
  });
});
