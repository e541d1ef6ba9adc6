// The task watch against a fake engine: an instance whose node the swarm marks down is reported lost, and ended at the
// moment the swarm said so, not at the old time its task started running (which would make its requests retries).
import test from 'ava';
import type Docker from 'dockerode';
import { HEARTBEAT_MS, LOST_WITH_NODE, createTaskWatch, shortenHeartbeat } from './tasks.js';

const STARTED = '2026-01-01T00:00:00.000Z';

function fakeDocker(state: { node: string; task: string }): Docker {
  return {
    listTasks: async () => [{ ServiceID: 'svc', NodeID: 'worker', DesiredState: 'running', Status: { State: state.task, Timestamp: STARTED } }],
    listNodes: async () => [{ ID: 'worker', Status: { State: state.node } }],
  } as unknown as Docker;
}

/** The watch's poll timer does not hold the process open (unref): the test does, until the end is heard. */
const endOf = (watch: ReturnType<typeof createTaskWatch>) => {
  const held = setInterval(() => undefined, 1_000);
  return new Promise<string>((resolve) => watch.watch('svc', 'inst', resolve)).finally(() => clearInterval(held));
};

test('a running task on a node the swarm marks down is lost with it, ended when the swarm said so', async (t) => {
  const state = { node: 'ready', task: 'running' };
  const watch = createTaskWatch(fakeDocker(state));
  const ended = endOf(watch);
  const sentBefore = Date.now();
  state.node = 'down';
  t.is(await ended, LOST_WITH_NODE);
  const at = watch.endedAt('inst') as number;
  t.true(at >= sentBefore, `ended at ${new Date(at).toISOString()}, before a request sent at ${new Date(sentBefore).toISOString()}`);
  watch.unwatch('inst');
});

test('a task that exited on a live node ends at its own time, with its reason', async (t) => {
  const state = { node: 'ready', task: 'failed' };
  const watch = createTaskWatch(fakeDocker(state));
  t.is(await endOf(watch), 'ended (failed)');
  t.is(watch.endedAt('inst'), Date.parse(STARTED));
  watch.unwatch('inst');
});

function fakeSwarm(heartbeatNs: number | undefined) {
  const updates: Array<{ _query: { version: number }; _body: { Name: string; Dispatcher: { HeartbeatPeriod: number } } }> = [];
  const docker = {
    swarmInspect: async () => ({ Version: { Index: 41 }, Spec: { Name: 'default', ...(heartbeatNs === undefined ? {} : { Dispatcher: { HeartbeatPeriod: heartbeatNs } }) } }),
    swarmUpdate: async (options: (typeof updates)[number]) => void updates.push(options),
  } as unknown as Docker;
  return { docker, updates };
}

test("the swarm's default heartbeat is shortened, its spec kept, at the version read", async (t) => {
  const { docker, updates } = fakeSwarm(5_000_000_000);
  t.true(await shortenHeartbeat(docker));
  t.deepEqual(updates, [{ _query: { version: 41 }, _body: { Name: 'default', Dispatcher: { HeartbeatPeriod: HEARTBEAT_MS * 1_000_000 } } }]);
  t.true((await shortenHeartbeat(fakeSwarm(undefined).docker)));
});

test("an operator's shorter heartbeat is left as it is", async (t) => {
  const { docker, updates } = fakeSwarm(1_000_000_000);
  t.false(await shortenHeartbeat(docker));
  t.deepEqual(updates, []);
});
