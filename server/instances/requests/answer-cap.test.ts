// The answer cap: a body held in memory is read up to its limit and no further, from a plain stream and from a fake
// shim that dials the real host end of the socket and then writes an answer that never ends.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import test from 'ava';
import { MAX_HELD_ANSWER_BYTES, capText, readCapped } from './answer-cap.js';
import { InstanceClients } from './client.js';
import { InstanceFailure } from './failure.js';

function kindOf(error: unknown): string {
  return error instanceof InstanceFailure ? error.kind : `not an InstanceFailure: ${String(error)}`;
}

test("the cap is AWS Lambda's 6 MB synchronous response, and reads as such", (t) => {
  t.is(MAX_HELD_ANSWER_BYTES, 6_291_556);
  t.is(capText(MAX_HELD_ANSWER_BYTES), '6 MB');
});

test('a body up to the limit is read whole; one byte more is oversized and the stream is destroyed', async (t) => {
  t.is((await readCapped(Readable.from([Buffer.from('abc'), Buffer.from('def')]), 6)).toString(), 'abcdef');
  const over = Readable.from([Buffer.from('abc'), Buffer.from('defg')]);
  t.is(kindOf(await t.throwsAsync(readCapped(over, 6))), 'oversized');
  t.true(over.destroyed);
});

test('an endless stream stops being read at the limit', async (t) => {
  let produced = 0;
  const endless = new Readable({
    read() {
      produced += 1024;
      this.push(Buffer.alloc(1024));
    },
  });
  t.is(kindOf(await t.throwsAsync(readCapped(endless, 64 * 1024))), 'oversized');
  t.true(produced < 1024 * 1024, `read ${produced} bytes for a 64 KiB limit`);
});

test("an instance's answer that never ends is oversized through the undici client, and its connection is dropped", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-cap-'));
  const clients = new InstanceClients();
  const target = { id: 'capcapcapcap', socketPath: path.join(dir, 'host.sock') };
  clients.link(target);
  const shim = net.connect(target.socketPath);
  shim.on('error', () => {});
  const chunk = `${(64 * 1024).toString(16)}\r\n${'x'.repeat(64 * 1024)}\r\n`;
  let written = 0;
  const closed = new Promise<void>((resolve) => shim.once('close', () => resolve()));
  shim.once('data', () => {
    shim.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n');
    // As fast as the host reads, forever: only the host's reader can end it.
    const pump = () => {
      while (!shim.destroyed && shim.write(chunk)) written += chunk.length;
      if (!shim.destroyed) shim.once('drain', pump);
    };
    pump();
  });
  try {
    const response = await clients.request(target, { path: '/', method: 'POST', body: '{}' });
    t.is(response.statusCode, 200);
    t.is(kindOf(await t.throwsAsync(response.text(1024 * 1024))), 'oversized');
    await closed;
    t.true(written < 64 * 1024 * 1024, `the shim wrote ${written} bytes before its connection was dropped`);
  } finally {
    shim.destroy();
    await clients.destroy(target.id);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
