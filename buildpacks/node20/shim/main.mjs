// The node20 shim's entry, PID 1 with plain Node: loads the handler (a cell waits for its init), then serves the host.
// Import order matters: the secret is read from stdin before anything else runs (settings.mjs), then the output is captured.
import { isCell } from './settings.mjs';
import './output.mjs';
import { loadHandler } from './invocations.mjs';
import { serve } from './host.mjs';

process.on('unhandledRejection', (error) => {
  console.error('ERROR\tUnhandled Promise Rejection\t', error);
});

try {
  // A cell sets up Node's module loader now, while nobody waits: its first import() costs milliseconds.
  if (isCell) await import('data:text/javascript,export default 0');
  await serve(isCell ? undefined : await loadHandler());
} catch (error) {
  console.error(`ERROR\tInit Error\t${error instanceof Error ? error.stack || error.message : String(error)}`);
  process.exit(1);
}
