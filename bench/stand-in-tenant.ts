import {
  DEFAULT_WORKSPACE_SETTINGS,
  sysSubject,
  tenantWildcard,
  type VerifiedKey,
  type Workspace,
} from '@kb/contracts';
import { connect } from '@nats-io/transport-node';

/**
 * A NATS responder for the two tenant operations behind the gateway's `GET /v1/workspaces/{id}` (key
 * verification and the workspace read), answering from memory at once. The throughput benchmark puts the
 * gateway and a bare Fastify forwarder in front of it, so the difference between them is the gateway's own
 * work, with no database in either. Only for benchmarks: it checks nothing.
 */
const org = process.env.BENCH_ORG ?? '';
const keyId = process.env.BENCH_KEY_ID ?? '';
const nc = await connect({ servers: process.env.KB_NATS_URL ?? '' });
const verified: VerifiedKey = {
  key_id: keyId,
  org_id: org,
  workspace_id: null,
  scopes: ['org:admin'],
  plan: 'enterprise',
  expires_at: null,
};
const verifiedJson = JSON.stringify(verified);
const at = new Date().toISOString();
nc.subscribe(sysSubject('tenant.keys.verify'), {
  queue: 'tenant',
  callback: (_error, msg) => {
    msg.respond(verifiedJson);
  },
});
nc.subscribe(tenantWildcard('tenant.workspace.get'), {
  queue: 'tenant',
  callback: (_error, msg) => {
    const [, orgId, wsId] = msg.subject.split('.');
    const workspace: Workspace = {
      id: wsId as string,
      org_id: orgId as string,
      name: 'bench',
      environment: 'production',
      status: 'active',
      settings: DEFAULT_WORKSPACE_SETTINGS,
      created_at: at,
      updated_at: at,
    };
    msg.respond(JSON.stringify(workspace));
  },
});
await nc.flush();
process.stdout.write(`${JSON.stringify({ msg: 'ready' })}\n`);
process.on('SIGTERM', () => void nc.drain().then(() => process.exit(0)));
