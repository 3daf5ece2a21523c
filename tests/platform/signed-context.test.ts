import { HEADERS, tenantSubject } from '@kb/contracts';
import { createContextSigner, newId, type TenantContext } from '@kb/tenancy';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { createSigner } from 'fast-jwt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NATS_SERVICES, type Platform, startPlatform } from './platform.ts';

let platform: Platform;
let nc: NatsConnection;

beforeAll(async () => {
  platform = await startPlatform(NATS_SERVICES);
  nc = await connect({ servers: platform.env.KB_NATS_URL });
});

afterAll(async () => {
  await nc?.drain();
  await platform?.stop();
});

const tenant = (): TenantContext => ({
  org: newId('org'),
  ws: newId('workspace'),
  kid: newId('key'),
  scopes: ['search', 'documents:read'],
  plan: 'free',
  rid: newId('key'),
});

function sign(context: TenantContext, options: { secret?: string; ageMs?: number } = {}): string {
  const secret = options.secret ?? platform.env.KB_CONTEXT_SECRET ?? '';
  if (options.ageMs === undefined && options.secret === undefined)
    return createContextSigner(secret).sign(context);
  return createSigner({
    key: secret,
    iss: 'kb-gateway',
    aud: 'kb-services',
    expiresIn: 5_000,
    clockTimestamp: Date.now() - (options.ageMs ?? 0),
  })({ ...context });
}

async function send(subjectTenant: TenantContext, op: string, context: TenantContext, token: string | null) {
  const h = headers();
  h.set(HEADERS.org, context.org);
  h.set(HEADERS.workspace, context.ws);
  if (token !== null) h.set(HEADERS.context, token);
  const reply = await nc.request(tenantSubject({ org: subjectTenant.org, ws: subjectTenant.ws }, op), '{}', {
    headers: h,
    timeout: 3_000,
  });
  return {
    code: reply.headers?.get('Nats-Service-Error-Code') ?? null,
    body: reply.json<Record<string, unknown>>(),
  };
}

describe.each(NATS_SERVICES)(
  'the %s service verifies the signed tenant context on every message',
  (service) => {
    const op = `${service}.status`;

    it('answers a correctly signed message for its own tenant', async () => {
      const me = tenant();
      const answer = await send(me, op, me, sign(me));
      expect(answer.code).toBeNull();
      expect(answer.body).toMatchObject({ service, org_id: me.org, workspace_id: me.ws });
    });

    it('refuses a message without a context', async () => {
      const me = tenant();
      expect(await send(me, op, me, null)).toMatchObject({ code: '401', body: { code: 'unauthorized' } });
    });

    it('refuses a context signed with another key', async () => {
      const me = tenant();
      const answer = await send(me, op, me, sign(me, { secret: 'not-the-platform-secret'.padEnd(48, '!') }));
      expect(answer).toMatchObject({ code: '401', body: { detail: 'tenant context is invalid' } });
    });

    it('refuses an expired context', async () => {
      const me = tenant();
      const answer = await send(me, op, me, sign(me, { ageMs: 60_000 }));
      expect(answer).toMatchObject({ code: '401', body: { detail: 'tenant context is expired' } });
    });

    it('refuses a context whose tenant differs from the subject’s', async () => {
      const me = tenant();
      const victim = tenant();
      const otherOrg = await send(victim, op, me, sign(me));
      expect(otherOrg.code).toBe('401');
      const sameOrgOtherWorkspace = await send({ ...me, ws: victim.ws }, op, me, sign(me));
      expect(sameOrgOtherWorkspace.code).toBe('401');
      expect(JSON.stringify(otherOrg.body)).not.toContain(victim.org);
    });
  },
);
