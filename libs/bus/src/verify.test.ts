import { HEADERS } from '@kb/contracts';
import {
  createContextSigner,
  createContextVerifier,
  newId,
  ORG_LEVEL,
  SYSTEM_ORG,
  type TenantContext,
} from '@kb/tenancy';
import { headers } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { assertBodyTenant, verifyMessageContext } from './verify.js';

const secret = 'v'.repeat(48);
const signer = createContextSigner(secret);
const verifier = createContextVerifier(secret);
const context: TenantContext = {
  org: newId('org'),
  ws: newId('workspace'),
  kid: newId('key'),
  scopes: ['search'],
  plan: 'pro',
  rid: 'r-1',
};

function message(token: string | null, requestId?: string) {
  const h = headers();
  if (token) h.set(HEADERS.context, token);
  if (requestId !== undefined) h.set(HEADERS.requestId, requestId);
  return { headers: h };
}

describe('verifyMessageContext', () => {
  it('answers the signed tenant with the request id of the message carrying it', () => {
    const token = signer.sign(context);
    expect(verifyMessageContext(message(token, 'req-a'), verifier)).toEqual({ ...context, rid: 'req-a' });
    // One token serves every request of the same credential; each message keeps its own request id.
    expect(signer.sign({ ...context, rid: 'r-2' })).toBe(token);
    expect(verifyMessageContext(message(token, 'req-b'), verifier).rid).toBe('req-b');
  });

  it('replaces a missing or malformed request id instead of passing it on', () => {
    const token = signer.sign(context);
    expect(verifyMessageContext(message(token), verifier).rid).toBe('unknown');
    expect(verifyMessageContext(message(token, 'bad id {"x":1}'), verifier).rid).toBe('unknown');
    expect(verifyMessageContext(message(token, 'x'.repeat(200)), verifier).rid).toBe('unknown');
  });

  it('refuses a message without a context or with a forged one', () => {
    expect(() => verifyMessageContext(message(null, 'req'), verifier)).toThrow(/no tenant context/);
    const forged = createContextSigner('f'.repeat(48)).sign(context);
    expect(() => verifyMessageContext(message(forged, 'req'), verifier)).toThrow(/invalid/);
  });
});

describe('assertBodyTenant', () => {
  it('refuses a body naming another organization or workspace than the context, and lets the system speak of any', () => {
    const own = { org_id: context.org, workspace_id: context.ws, value: 1 };
    expect(() => assertBodyTenant(own, context)).not.toThrow();
    expect(() => assertBodyTenant({ value: 1 }, context)).not.toThrow();
    expect(() => assertBodyTenant({ ...own, org_id: newId('org') }, context)).toThrow(/another tenant/);
    expect(() => assertBodyTenant({ ...own, workspace_id: newId('workspace') }, context)).toThrow(
      /another tenant/,
    );
    // null: the organization as a whole, which only an organization-level context speaks for.
    expect(() => assertBodyTenant({ ...own, workspace_id: null }, context)).toThrow(/another tenant/);
    expect(() =>
      assertBodyTenant({ org_id: context.org, workspace_id: null }, { ...context, ws: ORG_LEVEL }),
    ).not.toThrow();
    const system = { ...context, org: SYSTEM_ORG, ws: ORG_LEVEL };
    expect(() =>
      assertBodyTenant({ org_id: newId('org'), workspace_id: newId('workspace') }, system),
    ).not.toThrow();
  });
});
