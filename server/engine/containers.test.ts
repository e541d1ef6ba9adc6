// A container's end as the host hears it, and forced removal, with a fake engine (no Docker needed).
import test from 'ava';
import type Docker from 'dockerode';
import { removeContainer, watchExit } from './containers.js';

const fakeContainer = (wait: () => Promise<{ StatusCode: number }>, oom = false) =>
  ({ wait, inspect: async () => ({ State: { OOMKilled: oom } }) }) as unknown as Docker.Container;

const listen = () => {
  const heard: string[] = [];
  return { heard, clients: { gone: (id: string, why: string) => heard.push(`${id}: ${why}`) } };
};

test('an exit is told to the host\'s connections and to the caller, with its status', async (t) => {
  const { heard, clients } = listen();
  let told = '';
  const reason = await watchExit(fakeContainer(async () => ({ StatusCode: 3 })), 'i1', clients, (why) => (told = why));
  t.is(reason, 'exited with status 3');
  t.is(told, reason);
  t.deepEqual(heard, ['i1: the instance exited with status 3']);
});

test('an OOM kill is named as one', async (t) => {
  const { clients } = listen();
  t.is(await watchExit(fakeContainer(async () => ({ StatusCode: 137 }), true), 'i1', clients, () => {}), 'was killed for using more than its memory limit (OOM)');
});

test('a container the engine lost is reported as disappeared', async (t) => {
  const { heard, clients } = listen();
  const reason = await watchExit(fakeContainer(() => Promise.reject(new Error('no such container'))), 'i2', clients, () => {});
  t.is(reason, 'disappeared');
  t.deepEqual(heard, ['i2: the instance disappeared']);
});

const engineRemoving = (status: number) =>
  ({ getContainer: () => ({ remove: () => Promise.reject(Object.assign(new Error(`status ${status}`), { statusCode: status })) }) }) as unknown as Docker;

test('removing a container already gone or being removed is not an error; any other failure is', async (t) => {
  await t.notThrowsAsync(removeContainer(engineRemoving(404), 'c'));
  await t.notThrowsAsync(removeContainer(engineRemoving(409), 'c'));
  await t.throwsAsync(removeContainer(engineRemoving(500), 'c'), { message: 'status 500' });
});
