// `lambda nodes`: the machines that run instances (one on a single machine; the swarm's nodes in swarm mode), read only.
import type { Command } from 'commander';
import { endpointOf } from '../config.js';
import { isRecord, malformed, readJson, send, type Endpoint } from '../http.js';
import type { CommandContext } from '../io.js';
import { escapeControl as clean, renderTable } from '../render.js';
import { examples, type Verb } from './verb.js';

export const nodesVerb: Verb = {
  name: 'nodes',
  summary: 'list the machines that run instances: role, state, availability, engine, instances and cells on each',
  ssh: true,
  register(program, context) {
    program
      .command('nodes')
      .description(this.summary)
      .addHelpText('after', `${examples('lambda nodes', 'lambda nodes --json')}\nTo add, drain or remove a node of a swarm, use \`docker swarm join-token\` and \`docker node …\` on the manager.\n`)
      .action(async (_options: unknown, command: Command) => {
        await nodes(context(command));
      });
  },
};

export interface NodeEntry {
  readonly id: string;
  readonly hostname: string;
  readonly role: string;
  readonly state: string;
  readonly availability: string;
  readonly engineVersion: string;
  readonly instances: number;
  readonly cells: number;
}

/** One row per node, as the server lists them (managers first), or the API's objects with --json. */
export async function nodes(ctx: CommandContext): Promise<void> {
  const list = await fetchNodes(await endpointOf(ctx.io.env));
  if (ctx.json) {
    ctx.io.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
    return;
  }
  // A node's host name and the swarm's words come from the engines: escaped, they cannot move the terminal's cursor.
  const rows = list.map((node) => [
    clean(node.id.slice(0, 12)),
    clean(node.hostname) || '-',
    clean(node.role),
    clean(node.state),
    clean(node.availability),
    clean(node.engineVersion) || '-',
    String(node.instances),
    String(node.cells),
  ]);
  ctx.io.stdout.write(renderTable(['ID', 'HOSTNAME', 'ROLE', 'STATE', 'AVAILABILITY', 'ENGINE', 'INSTANCES', 'CELLS'], rows));
}

/** GET /api/v1/nodes. */
async function fetchNodes(endpoint: Endpoint): Promise<NodeEntry[]> {
  const body = await readJson(await send(endpoint, '/api/v1/nodes', { method: 'GET' }));
  if (!isRecord(body) || !Array.isArray(body.nodes)) throw malformed('the node list');
  return body.nodes.map((value: unknown) => {
    if (!isRecord(value)) throw malformed('a node');
    return {
      id: String(value.id ?? ''),
      hostname: String(value.hostname ?? ''),
      role: String(value.role ?? ''),
      state: String(value.state ?? ''),
      availability: String(value.availability ?? ''),
      engineVersion: String(value.engineVersion ?? ''),
      instances: Number(value.instances ?? 0),
      cells: Number(value.cells ?? 0),
    };
  });
}
