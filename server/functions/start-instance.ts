// Starting an instance of a version on its way to going live (deploy, rollback): the progress lines a push or a
// CLI call shows, and, when it fails its health check, the instance's last output lines as warnings.
import { LambdaError } from '../errors.js';
import type { Instance, InstanceSpec } from '../instances/engine.js';
import type { Deps } from './deps.js';
import type { Progress } from '../logs/progress.js';

export async function startInstance(deps: Pick<Deps, 'engine'>, spec: InstanceSpec, progress: Progress): Promise<Instance> {
  progress({ type: 'step', phase: 'start', text: `Starting ${spec.fn} v${spec.version} (${spec.sha.slice(0, 12)}) ...` });
  const started = Date.now();
  let instance: Instance;
  try {
    instance = await deps.engine.start(spec);
  } catch (error) {
    const logs = error instanceof LambdaError ? (error.details.logs as string[] | undefined) : undefined;
    for (const line of logs ?? []) progress({ type: 'warn', text: line });
    throw error;
  }
  // The wait for a turn to boot (other starts were booting) is said apart: "healthy in" is the version's own start.
  const waited = instance.bootWaitMs ?? 0;
  const own = `healthy in ${Date.now() - started - waited} ms`;
  progress({ type: 'detail', text: waited > 0 ? `${own} (after waiting ${waited} ms for a turn to boot)` : own });
  return instance;
}
