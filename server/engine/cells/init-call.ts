// The one call that turns a booted cell into an instance of a version, on one machine or on a swarm: its
// environment in the body; the shim loads the function's handler and answers "ok" or a short reason.
import type { Instance } from '../../instances/engine.js';
import type { InstanceClients } from '../../instances/requests/client.js';
import { readCapped } from '../../instances/requests/answer-cap.js';

/** A cell's init answers "ok" or a short reason; only its first line is shown. */
const INIT_ANSWER_BYTES = 64 * 1024;

/** Sends the init call to the cell `instance` now is; throws with the cell's reason when it does not answer 200. */
export async function initCell(clients: InstanceClients, instance: Instance, env: Record<string, string>, timeoutMs: number): Promise<void> {
  const response = await clients.get(instance).request({
    path: '/',
    method: 'POST',
    headers: { ...clients.internal(instance.id, 'init'), 'content-type': 'application/json' },
    body: JSON.stringify({ env }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  // The function's code is loaded by now and may have patched how the shim answers: its answer is read within a bound.
  const text = (await readCapped(response.body, INIT_ANSWER_BYTES)).toString('utf8');
  if (response.statusCode !== 200) throw new Error(`its init answered ${response.statusCode}: ${text.split('\n')[0].slice(0, 200)}`);
}
