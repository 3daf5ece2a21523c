/**
 * Preloaded into every service process (`node --import @kb/telemetry/register …`) so the instrumented
 * libraries are patched before the service imports them: ES modules can only be hooked when they load.
 * Spans are created through the global tracer provider, which `startTelemetry` configures later in the
 * process; until then they are no-ops.
 */
import { register } from 'node:module';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { createAddHookMessageChannel } from 'import-in-the-middle';
import { createInstrumentations } from './instrumentations.js';

// Only the modules an instrumentation hooks are wrapped; every other import loads untouched.
const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);
registerInstrumentations({ instrumentations: createInstrumentations() });
await waitForAllMessagesAcknowledged();
