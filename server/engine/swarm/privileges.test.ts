// The start check of no-new-privileges: read from a task container the manager's engine runs, warned once when off,
// silent when on, and tried again while no task of the platform's runs there.
import test from 'ava';
import type Docker from 'dockerode';
import { NO_NEW_PRIVILEGES_WARNING, createPrivilegeCheck, noNewPrivsOf } from './privileges.js';

const STATUS = (bit: number) => `Name:\tgo\nUmask:\t0022\nState:\tS (sleeping)\nNoNewPrivs:\t${bit}\nSeccomp:\t2\n`;

function fakeDocker(containers: () => Array<{ Id: string; Labels: Record<string, string> }>): Docker {
  return {
    listContainers: async () => containers(),
    getContainer: (id: string) => ({ inspect: async () => ({ State: { Pid: id === 'relay' ? 4242 : 0 } }) }),
  } as unknown as Docker;
}

test('the NoNewPrivs line of a process status', (t) => {
  t.true(noNewPrivsOf(STATUS(1)));
  t.false(noNewPrivsOf(STATUS(0)));
  t.is(noNewPrivsOf('Name:\tgo\n'), undefined);
});

test('an engine without the flag is warned of once, naming it; with it, nothing', async (t) => {
  for (const bit of [0, 1]) {
    const lines: string[] = [];
    const read: number[] = [];
    const check = createPrivilegeCheck(fakeDocker(() => [{ Id: 'relay', Labels: { 'com.docker.swarm.service.name': 'lambda-relay-greet' } }]), (line) => lines.push(line), (pid) => (read.push(pid), STATUS(bit)));
    await check.check();
    await check.check();
    t.deepEqual(read, [4242], 'read once, from the task container\'s process');
    t.deepEqual(lines, bit === 0 ? [NO_NEW_PRIVILEGES_WARNING] : []);
  }
  t.regex(NO_NEW_PRIVILEGES_WARNING, /dockerd --no-new-privileges/);
});

test("until a platform's task runs on the manager there is nothing to read, and it is tried again", async (t) => {
  const lines: string[] = [];
  let containers: Array<{ Id: string; Labels: Record<string, string> }> = [{ Id: 'other', Labels: { 'com.docker.swarm.service.name': 'someone-else' } }];
  const check = createPrivilegeCheck(fakeDocker(() => containers), (line) => lines.push(line), () => STATUS(0));
  await check.check();
  t.deepEqual(lines, []);
  containers = [{ Id: 'relay', Labels: { 'com.docker.swarm.service.name': 'lambda-relay-greet' } }];
  await check.check();
  t.deepEqual(lines, [NO_NEW_PRIVILEGES_WARNING]);
});
