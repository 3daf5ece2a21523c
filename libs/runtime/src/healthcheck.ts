import { connect } from '@nats-io/transport-node';

/**
 * Container health check for a NATS service: exits 0 when an instance of `<service>` answers `$SRV.PING`.
 * Usage: node libs/runtime/dist/healthcheck.js <service>
 */
const service = process.argv[2];
if (!service || !/^[a-z]+$/.test(service)) {
  process.stderr.write('usage: healthcheck <service>\n');
  process.exit(2);
}
try {
  const nc = await connect({
    servers: (process.env.KB_NATS_URL ?? 'nats://127.0.0.1:4222').split(','),
    timeout: 2_000,
  });
  await nc.request(`$SRV.PING.${service}`, '', { timeout: 2_000 });
  await nc.close();
  process.exit(0);
} catch (error) {
  process.stderr.write(
    `${service} is not answering: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
}
