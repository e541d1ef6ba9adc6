// The swarm's nodes as rows: role, state and availability as the swarm says, and only this server's running tasks
// counted, as instances or cells, on the node that runs them.
import test from 'ava';
import { nodeRows, type SwarmNodeRecord, type SwarmServiceRecord } from './nodes.js';

const node = (ID: string, Hostname: string, Role: string, State: string, Availability = 'active'): SwarmNodeRecord => ({
  ID, Spec: { Role, Availability }, Description: { Hostname, Engine: { EngineVersion: '20.10.24' } }, Status: { State },
});

test("managers first; each node's running instances and cells of this server's services, nothing else", (t) => {
  const nodes = [node('w2', 'b-worker', 'worker', 'down', 'drain'), node('w1', 'a-worker', 'worker', 'ready'), node('m1', 'z-manager', 'manager', 'ready')];
  // A swarm cell's labels are an instance's (they cannot change once its task runs) plus lambda.cell.
  const cellLabels = (id: string) => ({ 'lambda.managed': 'true', 'lambda.function': 'greet', 'lambda.version': 'abc', 'lambda.instance': id, 'lambda.server': 's', 'lambda.cell': 'node20' });
  const services: SwarmServiceRecord[] = [
    { ID: 'inst1', Spec: { Labels: { 'lambda.managed': 'true', 'lambda.instance': 'x' } } },
    { ID: 'inst2', Spec: { Labels: { 'lambda.managed': 'true' } } },
    { ID: 'cell1', Spec: { Labels: cellLabels('waiting00001') } },
    // A cell that became an instance: its record says so.
    { ID: 'cell2', Spec: { Labels: cellLabels('became000001') } },
    // The function's relay: the server's, but neither an instance nor a cell.
    { ID: 'relay', Spec: { Labels: { 'lambda.function': 'greet' } } },
  ];
  const tasks = [
    { ServiceID: 'inst1', NodeID: 'w1', Status: { State: 'running' } },
    { ServiceID: 'inst2', NodeID: 'w1', Status: { State: 'running' } },
    { ServiceID: 'inst2', NodeID: 'm1', Status: { State: 'starting' } },
    { ServiceID: 'cell1', NodeID: 'm1', Status: { State: 'running' } },
    { ServiceID: 'cell2', NodeID: 'm1', Status: { State: 'running' } },
    { ServiceID: 'relay', NodeID: 'm1', Status: { State: 'running' } },
    // Another server's service on the same swarm.
    { ServiceID: 'theirs', NodeID: 'w2', Status: { State: 'running' } },
  ];
  t.deepEqual(nodeRows(nodes, services, tasks, (id) => id === 'became000001'), [
    { id: 'm1', hostname: 'z-manager', role: 'manager', state: 'ready', availability: 'active', engineVersion: '20.10.24', instances: 1, cells: 1 },
    { id: 'w1', hostname: 'a-worker', role: 'worker', state: 'ready', availability: 'active', engineVersion: '20.10.24', instances: 2, cells: 0 },
    { id: 'w2', hostname: 'b-worker', role: 'worker', state: 'down', availability: 'drain', engineVersion: '20.10.24', instances: 0, cells: 0 },
  ]);
});

test('a node the swarm says little of still gets a row', (t) => {
  t.deepEqual(nodeRows([{ ID: 'n' }], [], []), [{ id: 'n', hostname: '', role: 'worker', state: 'unknown', availability: 'unknown', engineVersion: '', instances: 0, cells: 0 }]);
});
