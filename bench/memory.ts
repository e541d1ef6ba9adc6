// `node --import tsx bench/memory.ts [--functions N]`: the server's resident memory fresh, after plain load, while
// hostile clients hold it (40 stalled 6 MB uploads, 200 half-open connections), 3 s after they go and a minute
// later; BENCH_MEMORY_FUNCTIONS (or --functions) sets how many tiny functions are deployed (100: the idle figure).
// BENCH_MEMORY_PROBE=1 also reads the server's own heap and external memory. Loopback only; everything is removed.
import fs from 'node:fs';
import net from 'node:net';
import { pathToFileURL } from 'node:url';
import { requireDocker, startLambda, type Lambda } from '../test/helpers/lambda.js';
import { useCompiledServer } from './compiled-server.js';

export interface MemoryRow {
  figure: string;
  measured: string;
  target: string;
  baseline: string;
}

/** One reading of the server process: /proc's figures, and (with the probe) Node's own. */
interface Reading {
  rssMb: number;
  anonMb: number;
  heapMb?: number;
  externalMb?: number;
}

const STALLED_UPLOADS = 40;
const UPLOAD_BYTES = 6 * 1024 * 1024;
const HALF_OPEN = 200;
const LOAD_ROUNDS = 4;
const HANDLER = 'export const handler = async (event) => ({ path: event.rawPath, size: (event.body ?? "").length });\n';
const MB = 1024 * 1024;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Writes process.memoryUsage() of the server to a file each half second: loaded with --import, no inspector. */
function probeSource(file: string): string {
  const code = `import fs from 'node:fs';setInterval(()=>{try{fs.writeFileSync(${JSON.stringify(file)},JSON.stringify(process.memoryUsage()))}catch{}},500).unref();`;
  return `data:text/javascript,${encodeURIComponent(code)}`;
}

function read(pid: number, probeFile: string | undefined): Reading {
  const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(rollup)?.[1] ?? 0) / 1024;
  const reading: Reading = { rssMb: kb('Rss'), anonMb: kb('Anonymous') };
  if (probeFile && fs.existsSync(probeFile)) {
    const usage = JSON.parse(fs.readFileSync(probeFile, 'utf8')) as NodeJS.MemoryUsage;
    reading.heapMb = usage.heapTotal / MB;
    reading.externalMb = usage.external / MB;
  }
  return reading;
}

const describe = (r: Reading) =>
  `${r.rssMb.toFixed(0)} MB (${r.anonMb.toFixed(0)} MB private${r.heapMb === undefined ? '' : `, heap ${r.heapMb.toFixed(0)} MB, external ${(r.externalMb ?? 0).toFixed(0)} MB`})`;

async function deploy(lambda: Lambda, names: string[]): Promise<void> {
  const files = { 'index.mjs': Buffer.from(HANDLER).toString('base64') };
  for (const name of names) {
    const body = { runtime: 'node20', handler: 'index.handler', idleTimeout: '2s', files };
    const res = await lambda.api(`/api/v1/functions/${name}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (res.status >= 300) throw new Error(`registering ${name}: ${res.status} ${await res.text()}`);
  }
}

/** Waits (bounded) until no function has an instance: what a server left alone settles to. */
async function scaledToZero(lambda: Lambda): Promise<void> {
  const deadline = Date.now() + 90_000;
  while ((await lambda.containers()).length > 0 && Date.now() < deadline) await sleep(500);
}

/** Plain load: rounds of concurrent calls, small GETs on the byte path and 256 KB POSTs on Node's path. */
async function plainLoad(lambda: Lambda, names: string[]): Promise<void> {
  const upload = Buffer.alloc(256 * 1024, 'a');
  for (let round = 0; round < LOAD_ROUNDS; round++) {
    let next = 0;
    const worker = async () => {
      while (next < 400) {
        const i = next++;
        const name = names[i % names.length];
        const response = i % 8 === 0 ? await lambda.fetch(`/fn/${name}/up`, { method: 'POST', body: upload }) : await lambda.fetch(`/fn/${name}/?i=${i}`);
        await response.arrayBuffer();
        if (response.status !== 200) throw new Error(`${name} answered ${response.status}`);
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
  }
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

/**
 * Opens the hostile clients: uploads that declare 6 MB and send all but the last KB, then stall; connections that send
 * part of a request head, then nothing. Neither reads its answer. Returns a function that makes them all go away.
 */
async function hostile(lambda: Lambda, name: string): Promise<() => void> {
  const sockets: net.Socket[] = [];
  const body = Buffer.alloc(UPLOAD_BYTES - 1024, 'x');
  await Promise.all(
    Array.from({ length: STALLED_UPLOADS }, async () => {
      const socket = await connect(lambda.port);
      socket.on('error', () => {});
      sockets.push(socket);
      socket.write(`POST /fn/${name}/upload HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/octet-stream\r\ncontent-length: ${UPLOAD_BYTES}\r\n\r\n`);
      socket.write(body);
    }),
  );
  for (let i = 0; i < HALF_OPEN; i++) {
    const socket = await connect(lambda.port);
    socket.on('error', () => {});
    sockets.push(socket);
    socket.write(i % 2 === 0 ? 'GET /fn/' : `GET /fn/${name}/ HTTP/1.1\r\nhost: 127.0.0.1\r\nx-slow: `);
  }
  return () => {
    for (const socket of sockets) socket.destroy();
  };
}

export async function measureMemory(functions = Number(process.env.BENCH_MEMORY_FUNCTIONS ?? 3)): Promise<MemoryRow[]> {
  const probeFile = process.env.BENCH_MEMORY_PROBE === '1' ? `/tmp/lambda-memory-probe-${process.pid}.json` : undefined;
  const priorArgs = process.env.LAMBDA_SERVER_NODE_ARGS;
  if (probeFile) process.env.LAMBDA_SERVER_NODE_ARGS = `${priorArgs ?? ''} --import ${probeSource(probeFile)}`;
  const lambda = await startLambda({ LAMBDA_IDLE_TIMEOUT: '2s' });
  if (probeFile) process.env.LAMBDA_SERVER_NODE_ARGS = priorArgs;
  const now = () => read(lambda.pid, probeFile);
  try {
    const names = Array.from({ length: functions }, (_, i) => `mem-${String(i).padStart(3, '0')}`);
    await deploy(lambda, names);
    await scaledToZero(lambda);
    await sleep(3000);
    const fresh = now();
    const loaded = names.slice(0, Math.min(names.length, 3));
    await plainLoad(lambda, loaded);
    await scaledToZero(lambda);
    await sleep(3000);
    const plain = now();
    await (await lambda.fetch(`/fn/${loaded[0]}/`)).arrayBuffer();
    const release = await hostile(lambda, loaded[0] as string);
    await sleep(3000);
    const held = now();
    release();
    await sleep(3000);
    const after = now();
    await sleep(60_000);
    const minute = now();
    const said = `${functions} function${functions === 1 ? '' : 's'} deployed`;
    const delta = (r: Reading) => `${r.rssMb - plain.rssMb >= 0 ? '+' : ''}${(r.rssMb - plain.rssMb).toFixed(0)} MB`;
    return [
      { figure: `server RSS fresh (${said}, idle)`, measured: describe(fresh), target: functions >= 100 ? '≤ 150 MB' : '—', baseline: '—' },
      { figure: `server RSS after plain load (${LOAD_ROUNDS} rounds of 400 calls, 16 at once)`, measured: describe(plain), target: '—', baseline: `fresh ${fresh.rssMb.toFixed(0)} MB` },
      { figure: `server RSS holding ${STALLED_UPLOADS} stalled 6 MB uploads and ${HALF_OPEN} half-open connections`, measured: describe(held), target: '—', baseline: `plain load ${plain.rssMb.toFixed(0)} MB (${delta(held)})` },
      { figure: 'server RSS 3 s after those clients go', measured: describe(after), target: '—', baseline: `plain load ${plain.rssMb.toFixed(0)} MB (${delta(after)})` },
      { figure: 'server RSS a minute after', measured: describe(minute), target: `≤ plain load + 20 MB${functions >= 100 ? ', ≤ 150 MB' : ''}`, baseline: `plain load ${plain.rssMb.toFixed(0)} MB (${delta(minute)})` },
    ];
  } finally {
    await lambda.destroy();
    if (probeFile) fs.rmSync(probeFile, { force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await requireDocker();
  await useCompiledServer();
  const flag = process.argv.indexOf('--functions');
  const rows = await measureMemory(flag > 0 ? Number(process.argv[flag + 1]) : undefined);
  console.log('| figure | measured | target | baseline |\n| --- | --- | --- | --- |');
  for (const row of rows) console.log(`| ${row.figure} | ${row.measured} | ${row.target} | ${row.baseline} |`);
}
