// The host end of instance log sockets: on real Unix sockets, lines stamped with instance, version and the host's time,
// split anywhere by the sender, an unfinished last line kept, the socket the host's own (0666 in a folder the
// container reads only); and, table-driven, which stream letters and platform records a function may send.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { InstanceLogSockets, PlatformRecords, stampLines } from './log-socket.js';
import { LOG_SOCKET_NAME } from './protocol.js';

const test = anyTest as TestFn<{ dir: string; chunks: { fn: string; text: string }[]; sockets: InstanceLogSockets }>;
const instance = (dir: string) => ({ id: 'abcdefabcdef', fn: 'greet', sha: 'f'.repeat(40), socketPath: path.join(dir, 'host.sock') });

test.beforeEach((t) => {
  t.context.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-instance-logs-'));
  t.context.chunks = [];
  t.context.sockets = new InstanceLogSockets(
    { append: (fn, chunk) => t.context.chunks.push({ fn, text: chunk.toString() }) },
    { ratePerSecond: 1024 * 1024, versionOf: (fn, sha) => (fn === 'greet' && sha === 'f'.repeat(40) ? 4 : undefined) },
  );
});

test.afterEach.always((t) => {
  t.context.sockets.closeAll();
  fs.rmSync(t.context.dir, { recursive: true, force: true });
});

const connect = (file: string) =>
  new Promise<net.Socket>((resolve, reject) => {
    const socket = net.connect(file, () => resolve(socket));
    socket.once('error', reject);
  });

const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
};

test('lines split across writes are stored whole, each stamped; an unfinished last line is kept on close', async (t) => {
  const { dir, sockets, chunks } = t.context;
  sockets.open(instance(dir), 3);
  const file = path.join(dir, LOG_SOCKET_NAME);
  t.true(fs.lstatSync(file).isSocket());
  t.is(fs.statSync(file).mode & 0o777, 0o666);
  const socket = await connect(file);
  socket.write('1\to\tfir');
  await new Promise((resolve) => setTimeout(resolve, 10));
  socket.write('st\n2\to\tsecond\n3\te\tunfin');
  await new Promise((resolve) => setTimeout(resolve, 10));
  socket.end('ished');
  await until(() => chunks.map((chunk) => chunk.text).join('').includes('unfinished'));
  const host = chunks.map((chunk) => chunk.text).join('').replace(/\t\d{13}\t/g, '\tNOW\t');
  t.is(host, 'abcdefabcdef\t3\tNOW\to\tfirst\nabcdefabcdef\t3\tNOW\to\tsecond\nabcdefabcdef\t3\tNOW\te\tunfinished\n');
  t.true(chunks.every((chunk) => chunk.fn === 'greet'));
});

test('an adopted instance gets its version from the store; open is idempotent; close removes the socket', async (t) => {
  const { dir, sockets, chunks } = t.context;
  sockets.open(instance(dir));
  sockets.open(instance(dir));
  const socket = await connect(path.join(dir, LOG_SOCKET_NAME));
  socket.end('1\to\tadopted\n');
  await until(() => chunks.length > 0);
  t.regex(chunks[0]?.text ?? '', /^abcdefabcdef\t4\t\d{13}\to\tadopted\n$/);
  sockets.close('abcdefabcdef');
  t.false(fs.existsSync(path.join(dir, LOG_SOCKET_NAME)));
});

test('a function dialling many connections gets a few', async (t) => {
  const { dir, sockets } = t.context;
  sockets.open(instance(dir), 1);
  const opened = await Promise.all(Array.from({ length: 6 }, () => connect(path.join(dir, LOG_SOCKET_NAME))));
  const closed = await Promise.all(
    opened.map((socket) => new Promise<boolean>((resolve) => {
      socket.once('close', () => resolve(true));
      setTimeout(() => resolve(false), 200);
    })),
  );
  t.is(closed.filter(Boolean).length, 2);
  for (const socket of opened) socket.destroy();
});

const NOW = 1_800_000_000_000;
const PREFIX = Buffer.from('abcdefabcdef\t2\t');
/** What the host stores for `sent` (each line stamped), after `requests` requests were sent to the instance. */
function stamp(sent: string, requests = 0, version: number | null = 2): string {
  const records = new PlatformRecords(version);
  for (let i = 0; i < requests; i++) records.sent();
  const data = Buffer.from(sent);
  return stampLines(data, data.length, PREFIX, NOW, records).toString().replaceAll(`abcdefabcdef\t2\t${NOW}\t`, '');
}

const REPORT = (id: string, status = 'success') => `REPORT RequestId: ${id}\tDuration: 1.25 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB\tStatus: ${status}`;
const cases: [string, string, number, string][] = [
  ['stdout and stderr keep their letter; the time is the host\'s', '978307200000\to\tout\n1\te\terr\n', 0, 'o\tout\ne\terr\n'],
  ['an empty line', '1\to\t\n', 0, 'o\t\n'],
  ['non-ASCII output is kept byte for byte', '1\to\tgrüße ✓\n', 0, 'o\tgrüße ✓\n'],
  ['a record with a non-ASCII request id is output', '1\tp\tSTART RequestId: é Version: 2\n', 1, 'o\tSTART RequestId: é Version: 2\n'],
  ['a line without the header is output, whole', 'plain text\n\n', 0, 'o\tplain text\no\t\n'],
  ['a first field too long for a time is no header', `${'9'.repeat(20)}\tp\tEND RequestId: a\n`, 0, `o\t${'9'.repeat(20)}\tp\tEND RequestId: a\n`],
  ['a build line is the function\'s output', '1\tb\t-----> Deployed by admin\n', 0, 'o\t-----> Deployed by admin\n'],
  ['an unknown letter is output', '1\tx\ttext\n1\too\ttext\n', 0, 'o\ttext\no\t1\too\ttext\n'],
  ['a platform line that is no record is output', '1\tp\t-----> Deployed by admin\n', 5, 'o\t-----> Deployed by admin\n'],
  [
    'START, END, REPORT of a request sent',
    `1\tp\tSTART RequestId: r1 Version: 2\n1\to\thi\n1\tp\tEND RequestId: r1\n1\tp\t${REPORT('r1')}\n`,
    1,
    `p\tSTART RequestId: r1 Version: 2\no\thi\np\tEND RequestId: r1\np\t${REPORT('r1')}\n`,
  ],
  ['a START without a request sent is output', '1\tp\tSTART RequestId: r1 Version: 2\n', 0, 'o\tSTART RequestId: r1 Version: 2\n'],
  ['one START per request sent', '1\tp\tSTART RequestId: a Version: 2\n1\tp\tSTART RequestId: b Version: 2\n', 1, 'p\tSTART RequestId: a Version: 2\no\tSTART RequestId: b Version: 2\n'],
  ['a START of another version is output', '1\tp\tSTART RequestId: r1 Version: 9\n', 1, 'o\tSTART RequestId: r1 Version: 9\n'],
  ['a START twice for one id', '1\tp\tSTART RequestId: a Version: 2\n1\tp\tSTART RequestId: a Version: 2\n', 2, 'p\tSTART RequestId: a Version: 2\no\tSTART RequestId: a Version: 2\n'],
  ['END and REPORT of a request never STARTed', `1\tp\tEND RequestId: z\n1\tp\t${REPORT('z')}\n`, 3, `o\tEND RequestId: z\no\t${REPORT('z')}\n`],
  ['a REPORT before its END, or twice', `1\tp\tSTART RequestId: a Version: 2\n1\tp\t${REPORT('a')}\n1\tp\tEND RequestId: a\n1\tp\t${REPORT('a')}\n1\tp\t${REPORT('a')}\n`, 1,
    `p\tSTART RequestId: a Version: 2\no\t${REPORT('a')}\np\tEND RequestId: a\np\t${REPORT('a')}\no\t${REPORT('a')}\n`],
  ['a REPORT out of its grammar', `1\tp\tSTART RequestId: a Version: 2\n1\tp\tEND RequestId: a\n1\tp\t${REPORT('a')} extra\n`, 1,
    `p\tSTART RequestId: a Version: 2\np\tEND RequestId: a\no\t${REPORT('a')} extra\n`],
  ['a timeout notice of a running request, in either shim\'s clock format', '1\tp\tSTART RequestId: a Version: 2\n1\tp\t2026-12-04T21:00:00.123Z a Task timed out after 3.00 seconds\n1\tp\t2026-12-04T21:00:00.123456+00:00 a Task timed out after 3.00 seconds\n', 1,
    'p\tSTART RequestId: a Version: 2\np\t2026-12-04T21:00:00.123Z a Task timed out after 3.00 seconds\np\t2026-12-04T21:00:00.123456+00:00 a Task timed out after 3.00 seconds\n'],
  ['a timeout notice of no running request', '1\tp\t2026-12-04T21:00:00.123Z a Task timed out after 3.00 seconds\n', 1, 'o\t2026-12-04T21:00:00.123Z a Task timed out after 3.00 seconds\n'],
  ['the shim\'s drop marker', '1\tp\t[lambda] 12 lines dropped: the function wrote faster than its log is kept\n1\tp\t[lambda] schedule x fired\n', 0,
    'p\t[lambda] 12 lines dropped: the function wrote faster than its log is kept\no\t[lambda] schedule x fired\n'],
];
for (const [title, sent, requests, stored] of cases) {
  test(`stampLines: ${title}`, (t) => {
    t.is(stamp(sent, requests), stored);
  });
}

test('stampLines: an instance whose version is unknown (adopted) may START with any version', (t) => {
  t.is(stamp('1\tp\tSTART RequestId: r1 Version: 9\n', 1, null), 'p\tSTART RequestId: r1 Version: 9\n');
});

test('the log sockets count requests sent: the instance may START as many', async (t) => {
  const { dir, sockets, chunks } = t.context;
  sockets.open(instance(dir), 3);
  sockets.sent('abcdefabcdef');
  sockets.sent('some-other-instance');
  const socket = await connect(path.join(dir, LOG_SOCKET_NAME));
  socket.end('1\tp\tSTART RequestId: a Version: 3\n1\tp\tSTART RequestId: b Version: 3\n');
  await until(() => chunks.map((chunk) => chunk.text).join('').includes('RequestId: b'));
  const letters = chunks.map((chunk) => chunk.text).join('').split('\n').filter(Boolean).map((line) => line.split('\t')[3]);
  t.deepEqual(letters, ['p', 'o']);
});

test('the memory figure of each REPORT accepted is told, and only of those: a forged or repeated REPORT changes nothing', (t) => {
  const told: number[] = [];
  const records = new PlatformRecords(2, (mb) => told.push(mb));
  records.sent();
  const report = (id: string, mb: number) => `1\tp\tREPORT RequestId: ${id}\tDuration: 1.25 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: ${mb} MB\tStatus: success\n`;
  const data = Buffer.from(`${report('early', 999)}1\tp\tSTART RequestId: a Version: 2\n1\tp\tEND RequestId: a\n${report('a', 41)}${report('a', 999)}`);
  stampLines(data, data.length, PREFIX, NOW, records);
  t.deepEqual(told, [41]);
});
