# A function in a container of its own making: no Lambda shim, just the runtime protocol, in ~120 lines of asyncio.
# The platform listens on /run/lambda/host.sock; this program dials in, keeps a few idle connections open and
# answers the plain HTTP/1.1 requests the platform sends on them. Output lines go to /run/lambda/log.sock.
import asyncio
import hmac
import json
import math
import os
import resource
import sys
import time
import uuid
from urllib.parse import parse_qs, urlsplit

SOCKET_DIR = os.environ.get('LAMBDA_SOCKET_DIR', '/run/lambda')
SPARE = 4
# The platform's own calls (health, direct invokes) carry this secret; any other call is public traffic. It is
# the first line of stdin, written once by the platform at start (never in the environment).
SECRET = sys.stdin.buffer.readline().strip()


class Log:
    """`<milliseconds>\\t<o|e|p>\\t<text>\\n` per line on log.sock (o: stdout, e: stderr, p: START/END/REPORT records;
    the platform keeps its own time, and a p line out of its grammar is kept as output)."""

    def __init__(self):
        self.writer = None

    async def open(self):
        _, self.writer = await asyncio.open_unix_connection(os.path.join(SOCKET_DIR, 'log.sock'))

    def line(self, text, stream='o'):
        if self.writer:
            self.writer.write(f'{int(time.time() * 1000)}\t{stream}\t{text}\n'.encode())


log = Log()


async def read_request(reader):
    head = await reader.readuntil(b'\r\n\r\n')
    lines = head.decode('latin-1').split('\r\n')
    method, target, _ = lines[0].split(' ', 2)
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(':')
            headers[name.strip().lower()] = value.strip()
    if 'chunked' in headers.get('transfer-encoding', ''):
        body = b''
        while (size := int((await reader.readline()).split(b';')[0], 16)) > 0:
            body += await reader.readexactly(size)
            await reader.readline()
        await reader.readline()
    else:
        body = await reader.readexactly(int(headers.get('content-length', '0')))
    return method, target, headers, body


def answer(method, target, headers, body):
    given = headers.get('x-lambda-internal-secret', '').encode()
    internal = len(SECRET) > 0 and hmac.compare_digest(given, SECRET)
    mode = headers.get('x-lambda-internal-invoke') if internal else None
    if mode == 'health':
        return 200, b'ok'
    # START, END and REPORT, once each per request the platform sent, in AWS Lambda's words (docs/runtime-protocol.md: Logs).
    request_id = headers.get('x-lambda-internal-request-id') if internal else None
    request_id = request_id or str(uuid.uuid4())
    started = time.perf_counter()
    log.line(f"START RequestId: {request_id} Version: {os.environ.get('LAMBDA_FUNCTION_VERSION', '0')}", 'p')
    if mode == 'direct':
        # A direct invoke (lambda invoke, async, schedules): the body is the JSON event.
        event = json.loads(body or b'null') or {}
        name = event.get('name', 'World')
    else:
        name = parse_qs(urlsplit(target).query).get('name', ['World'])[0]
    log.line(f'{method} {urlsplit(target).path} for {name}')
    result = {'message': f"{os.environ.get('GREETING', 'Hello')}, {name}!", 'runtime': 'docker', 'version': os.environ.get('AWS_LAMBDA_FUNCTION_VERSION')}
    duration = (time.perf_counter() - started) * 1000
    used = -(-resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
    log.line(f'END RequestId: {request_id}', 'p')
    log.line(f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\tBilled Duration: {max(1, math.ceil(duration))} ms\t"
             f"Memory Size: {os.environ.get('LAMBDA_MEMORY_MB', '0')} MB\tMax Memory Used: {used} MB\tStatus: success", 'p')
    return 200, json.dumps(result).encode()


async def connection(spare):
    try:
        reader, writer = await asyncio.open_unix_connection(os.path.join(SOCKET_DIR, 'host.sock'))
    except OSError:
        # The platform is not listening (yet, or any more): try again shortly.
        await asyncio.sleep(0.1)
        spare.release()
        return
    first = True
    try:
        while True:
            method, target, headers, body = await read_request(reader)
            if first:
                # The platform has started using this connection: dial a new idle one in its place.
                first = False
                spare.release()
            status, payload = answer(method, target, headers, body)
            writer.write(f'HTTP/1.1 {status} OK\r\ncontent-type: application/json\r\ncontent-length: {len(payload)}\r\n\r\n'.encode() + payload)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        if first:
            spare.release()
    finally:
        writer.close()


async def main():
    await log.open()
    spare = asyncio.Semaphore(SPARE)
    tasks = set()
    while True:
        await spare.acquire()
        task = asyncio.create_task(connection(spare))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        await asyncio.sleep(0)


asyncio.run(main())
