# Runtime shim for python3 functions: loads the handler, dials the host's socket and serves HTTP on the dialled
# connections, speaks the AWS Lambda contract. PID 1 in the container; Python standard library only.
# The protocol is the node20 shim's (buildpacks/node20/shim.mjs; README.md "Runtime protocol").
import base64
import codecs
import hmac
import importlib
import io
import json
import logging
import os
import re
import resource
import signal
import socket
import sys
import threading
import time
import traceback
from datetime import datetime, timezone
from urllib.parse import parse_qsl, urlsplit

SOCKET_DIR = os.environ.get('LAMBDA_SOCKET_DIR', '/run/lambda')
HOST_SOCKET = os.path.join(SOCKET_DIR, 'host.sock')
LOG_SOCKET = os.path.join(SOCKET_DIR, 'log.sock')
TASK_ROOT = os.environ.get('LAMBDA_TASK_ROOT', '/var/task')
HANDLER = os.environ.get('LAMBDA_HANDLER', 'lambda_function.handler')
FUNCTION_NAME = os.environ.get('LAMBDA_FUNCTION_NAME', 'function')
FUNCTION_VERSION = os.environ.get('LAMBDA_FUNCTION_VERSION', '$LATEST')
TIMEOUT_MS = int(os.environ.get('LAMBDA_TIMEOUT_MS', '10000'))
MEMORY_MB = os.environ.get('LAMBDA_MEMORY_MB', '256')


def read_secret():
    """The first line of stdin (at most 256 bytes), which the host writes once at boot and then closes."""
    if os.isatty(0):
        return b''
    data = b''
    while len(data) < 256 and b'\n' not in data:
        try:
            chunk = os.read(0, 256 - len(data))
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    return data.split(b'\n', 1)[0].strip()


# The host's own calls (health checks, direct invokes) carry this instance's secret; a call without it is public
# traffic whatever x-lambda-internal-* headers it sends. It comes on stdin, never in the environment, so it is in no
# /proc/*/environ the handler could read, and stdin holds nothing more afterwards.
INSTANCE_SECRET = read_secret()

# The host marks its own calls with these headers (server/runtime/protocol.ts); the gateway also strips them from public traffic.
INVOKE_HEADER = 'x-lambda-internal-invoke'
SECRET_HEADER = 'x-lambda-internal-secret'
REQUEST_ID_HEADER = 'x-lambda-internal-request-id'
ERROR_HEADER = 'x-lambda-internal-error'
TEXT_TYPES = re.compile(r'^(text/|application/(json|xml|javascript|x-www-form-urlencoded|graphql)|[^;]*\+(json|xml))', re.I)
SPARE_CONNECTIONS = 4
MAX_HEAD = 64 * 1024
REASONS = {200: 'OK', 201: 'Created', 204: 'No Content', 301: 'Moved Permanently', 302: 'Found', 304: 'Not Modified',
           400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 500: 'Internal Server Error',
           502: 'Bad Gateway', 503: 'Service Unavailable'}


class Output:
    """Function output (print, logging, sys.stdout/stderr writes) goes in batches to log.sock, as the node20 shim's:
    a line is `<ms>\\t<o|e|p>\\t<text>`. At most MAX_PENDING characters wait while the host is away; later lines are
    dropped and counted. Until the function has loaded, output also goes to the container's own stdout/stderr so a
    deploy whose handler fails to load can show why."""

    MAX_PENDING = 1024 * 1024
    MAX_LINE = 64 * 1024

    def __init__(self):
        self.lock = threading.Lock()
        self.wake = threading.Condition(self.lock)
        self.pending = []
        self.pending_size = 0
        self.dropped = 0
        self.tee = True
        self.real = {'o': sys.__stdout__, 'e': sys.__stderr__}
        threading.Thread(target=self.run, daemon=True, name='lambda-log').start()

    def add(self, stream, text):
        if len(text) > self.MAX_LINE:
            text = f'{text[:self.MAX_LINE]} [lambda: line cut at {self.MAX_LINE} characters]'
        with self.lock:
            if self.pending_size >= self.MAX_PENDING:
                self.dropped += 1
                return
            if self.dropped:
                self.pending.append(f'{int(time.time() * 1000)}\tp\t[lambda] {self.dropped} lines dropped: the function wrote faster than its log is kept\n')
                self.dropped = 0
            line = f'{int(time.time() * 1000)}\t{stream}\t{text}\n'
            self.pending.append(line)
            self.pending_size += len(line)
            self.wake.notify()

    def flush(self, timeout=1.0):
        """Waits (bounded) until what is pending has been written to the socket."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if not self.pending:
                    return
            time.sleep(0.005)

    def run(self):
        sock = None
        retry = 0.01
        while True:
            if sock is None:
                try:
                    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    sock.connect(LOG_SOCKET)
                    retry = 0.01
                except OSError:
                    sock = None
                    time.sleep(retry)
                    retry = min(retry * 2, 1.0)
                    continue
            with self.lock:
                while not self.pending:
                    self.wake.wait()
                batch = ''.join(self.pending)
            try:
                sock.sendall(batch.encode('utf-8', 'replace'))
            except OSError:
                sock.close()
                sock = None
                continue
            with self.lock:
                # Only what was sent leaves the list: lines added meanwhile stay.
                sent = batch.count('\n')
                del self.pending[:sent]
                self.pending_size = sum(len(line) for line in self.pending)


OUTPUT = Output()


class Capture(io.TextIOBase):
    """sys.stdout / sys.stderr: whole lines to the log socket (a partial line waits for its newline or a platform line)."""

    def __init__(self, letter):
        self.letter = letter
        self.partial = ''
        self.lock = threading.Lock()

    def writable(self):
        return True

    @property
    def encoding(self):
        return 'utf-8'

    def isatty(self):
        return False

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f'write() argument must be str, not {type(text).__name__}')
        written = len(text)
        if OUTPUT.tee:
            real = OUTPUT.real[self.letter]
            real.write(text)
            real.flush()
        with self.lock:
            text = self.partial + text
            lines = text.split('\n')
            self.partial = lines.pop()
            if len(self.partial) > Output.MAX_LINE:
                lines.append(self.partial)
                self.partial = ''
        for line in lines:
            OUTPUT.add(self.letter, line[:-1] if line.endswith('\r') else line)
        return written

    def end_partial(self):
        with self.lock:
            text, self.partial = self.partial, ''
        if text:
            OUTPUT.add(self.letter, text)

    def flush(self):
        pass


class BinaryCapture:
    """sys.stdout.buffer / sys.stderr.buffer: bytes written there are decoded and captured the same way."""

    def __init__(self, text):
        self.text = text

    def write(self, data):
        self.text.write(bytes(data).decode('utf-8', 'replace'))
        return len(data)

    def flush(self):
        pass


STDOUT = Capture('o')
STDERR = Capture('e')
STDOUT.buffer = BinaryCapture(STDOUT)
STDERR.buffer = BinaryCapture(STDERR)


def capture_descriptors():
    """Descriptors 1 and 2 become pipes read here, so what C code, os.write and child processes write is captured
    too (as the node20 shim captures fs.writeSync(1)); the container's own stdout/stderr stay for the tee."""
    for fd, letter, capture in ((1, 'o', STDOUT), (2, 'e', STDERR)):
        try:
            saved = os.dup(fd)
            read_end, write_end = os.pipe()
            os.dup2(write_end, fd)
            os.close(write_end)
        except OSError:
            continue
        OUTPUT.real[letter] = open(saved, 'w', encoding='utf-8', errors='replace', closefd=True)
        threading.Thread(target=pump, args=(read_end, capture), daemon=True, name=f'lambda-fd{fd}').start()


def pump(read_end, capture):
    decoder = codecs.getincrementaldecoder('utf-8')('replace')
    while True:
        try:
            data = os.read(read_end, 65536)
        except OSError:
            return
        if not data:
            return
        capture.write(decoder.decode(data))


capture_descriptors()
sys.stdout = STDOUT
sys.stderr = STDERR


def platform_line(text):
    # A platform line (START, END, REPORT) ends whatever the function left without a newline.
    STDOUT.end_partial()
    STDERR.end_partial()
    OUTPUT.add('p', text)


# The request being served by this thread, for the logging format (AWS Lambda's Python runtime puts it in each record).
current = threading.local()


class RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.aws_request_id = getattr(current, 'request_id', '')
        return True


def setup_logging():
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter('[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s', '%Y-%m-%dT%H:%M:%S'))
    handler.formatter.converter = time.gmtime
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.WARNING)


class Context:
    """The Lambda context object: AWS's Python names, and the names the Node runtime's context has."""

    def __init__(self, request_id):
        self._deadline = time.time() + TIMEOUT_MS / 1000
        self.aws_request_id = self.awsRequestId = request_id
        self.function_name = self.functionName = FUNCTION_NAME
        self.function_version = self.functionVersion = FUNCTION_VERSION
        self.memory_limit_in_mb = self.memoryLimitInMB = MEMORY_MB
        self.invoked_function_arn = self.invokedFunctionArn = f'arn:lambda:local:function:{FUNCTION_NAME}:{FUNCTION_VERSION}'
        self.log_group_name = self.logGroupName = f'/lambda/{FUNCTION_NAME}'
        self.log_stream_name = self.logStreamName = os.environ.get('HOSTNAME', 'instance')
        self.identity = None
        self.client_context = None

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.time()) * 1000))

    getRemainingTimeInMillis = get_remaining_time_in_millis


def load_handler():
    """"module.function" (module may be "dir/module" or "package.module"), imported from the task root."""
    module_name, _, function_name = HANDLER.rpartition('.')
    if not module_name or not function_name:
        raise ValueError(f'Bad handler "{HANDLER}": expected module.function')
    sys.path[:0] = [TASK_ROOT, '/opt/python']
    try:
        module = importlib.import_module(module_name.replace('/', '.'))
    except ModuleNotFoundError as error:
        raise ImportError(f"Unable to import module '{module_name}': {error}") from error
    function = getattr(module, function_name, None)
    if not callable(function):
        raise AttributeError(f"Handler '{function_name}' missing on module '{module_name}'")
    return function


class Invocations:
    """Runs the handler with AWS Lambda's START, END and REPORT lines; the first REPORT has the Init Duration."""

    def __init__(self, handler, init_ms):
        self.handler = handler
        self.init_ms = init_ms
        self.lock = threading.Lock()

    def __call__(self, event, context):
        request_id = context.aws_request_id
        with self.lock:
            init, self.init_ms = self.init_ms, None
        started = time.perf_counter()
        platform_line(f'START RequestId: {request_id} Version: {FUNCTION_VERSION}')
        finished = threading.Event()
        status = 'success'

        def timed_out():
            if not finished.is_set():
                platform_line(f'{datetime.now(timezone.utc).isoformat()} {request_id} Task timed out after {TIMEOUT_MS / 1000:.2f} seconds')
                finish('timeout')

        timer = threading.Timer(TIMEOUT_MS / 1000, timed_out)
        timer.daemon = True
        timer.start()

        def finish(how):
            if finished.is_set():
                return
            finished.set()
            timer.cancel()
            duration = (time.perf_counter() - started) * 1000
            max_mb = -(-resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
            init_text = '' if init is None else f'\tInit Duration: {init:.2f} ms'
            platform_line(f'END RequestId: {request_id}')
            platform_line(f'REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\tBilled Duration: {max(1, int(-(-duration // 1)))} ms\t'
                          f'Memory Size: {MEMORY_MB} MB\tMax Memory Used: {max_mb} MB{init_text}\tStatus: {how}')

        current.request_id = request_id
        try:
            result = self.handler(event, context)
            if type(result).__name__ == 'coroutine':
                # An `async def` handler: run it to its end (asyncio is imported only by functions that need it).
                import asyncio

                result = asyncio.run(result)
            return result
        except BaseException as error:
            status = 'error'
            log_error(error)
            raise
        finally:
            current.request_id = ''
            finish(status)


def log_error(error):
    """As AWS Lambda's Python runtime: `[ERROR] Type: message` and the traceback."""
    lines = traceback.format_exception(type(error), error, error.__traceback__)
    text = ''.join(lines).rstrip('\n')
    print(f'[ERROR] {type(error).__name__}: {error}\n{text}', file=sys.stderr)


class BadRequest(Exception):
    pass


def read_request(stream):
    """One HTTP/1.1 request from the host: (method, target, version, [(name, value)], body) or None at the end."""
    line = stream.readline(MAX_HEAD)
    while line in (b'\r\n', b'\n'):
        line = stream.readline(MAX_HEAD)
    if not line:
        return None
    parts = line.decode('latin-1').rstrip('\r\n').split(' ')
    if len(parts) != 3:
        raise BadRequest('bad request line')
    method, target, version = parts
    headers = []
    size = 0
    while True:
        header = stream.readline(MAX_HEAD)
        size += len(header)
        if size > MAX_HEAD or not header:
            raise BadRequest('headers too long or cut')
        if header in (b'\r\n', b'\n'):
            break
        name, _, value = header.decode('latin-1').partition(':')
        headers.append((name.strip().lower(), value.strip()))
    lookup = {name: value for name, value in headers}
    if 'chunked' in lookup.get('transfer-encoding', '').lower():
        chunks = []
        while True:
            size_line = stream.readline(MAX_HEAD)
            length = int(size_line.split(b';')[0].strip() or b'0', 16)
            if length == 0:
                while stream.readline(MAX_HEAD) not in (b'\r\n', b'\n', b''):
                    pass
                break
            chunks.append(stream.read(length))
            stream.readline(MAX_HEAD)
        body = b''.join(chunks)
    else:
        body = stream.read(int(lookup.get('content-length', '0') or '0'))
    return method, target, version, headers, body


def send_response(sock, status, headers, body, keep_alive):
    head = [f'HTTP/1.1 {status} {REASONS.get(status, "Status")}']
    for name, value in headers:
        head.append(f'{name}: {clean_header(value)}')
    head.append(f'content-length: {len(body)}')
    head.append('connection: keep-alive' if keep_alive else 'connection: close')
    sock.sendall(('\r\n'.join(head) + '\r\n\r\n').encode('latin-1', 'replace') + body)


def clean_header(value):
    # A header value the function returns never splits the response.
    return re.sub(r'[\r\n\0]', ' ', str(value))


def http_event(method, target, version, headers, body, request_id):
    url = urlsplit(target)
    joined = {}
    cookies = []
    for name, value in headers:
        if name.startswith('x-lambda-internal-') or name in ('connection', 'keep-alive'):
            continue
        if name == 'cookie':
            cookies.extend(part.strip() for part in value.split(';') if part.strip())
        else:
            joined[name] = f'{joined[name]},{value}' if name in joined else value
    query = {}
    for key, value in parse_qsl(url.query, keep_blank_values=True):
        query[key] = f'{query[key]},{value}' if key in query else value
    forwarded = [part.strip() for part in joined.get('x-forwarded-for', '').split(',') if part.strip()]
    host = joined.get('x-forwarded-host') or joined.get('host') or 'localhost'
    now = datetime.now(timezone.utc)
    event = {
        'version': '2.0',
        'routeKey': '$default',
        'rawPath': url.path,
        'rawQueryString': url.query,
        'headers': joined,
        'requestContext': {
            'accountId': 'local',
            'apiId': 'lambda',
            'domainName': host,
            'domainPrefix': host.split('.')[0],
            'http': {
                'method': method,
                'path': url.path,
                'protocol': version,
                'sourceIp': forwarded[-1] if forwarded else '127.0.0.1',
                'userAgent': joined.get('user-agent', ''),
            },
            'requestId': request_id,
            'routeKey': '$default',
            'stage': '$default',
            'time': now.isoformat(timespec='milliseconds').replace('+00:00', 'Z'),
            'timeEpoch': int(now.timestamp() * 1000),
        },
        'isBase64Encoded': False,
    }
    if cookies:
        event['cookies'] = cookies
    if url.query:
        event['queryStringParameters'] = query
    if body:
        text = bool(TEXT_TYPES.match(joined.get('content-type', '')))
        event['body'] = body.decode('utf-8', 'replace') if text else base64.b64encode(body).decode('ascii')
        event['isBase64Encoded'] = not text
    return event


def result_response(result):
    """API Gateway's mapping: a dict with statusCode is the response; anything else is JSON with status 200."""
    if isinstance(result, dict) and 'statusCode' in result:
        headers = [(str(name), value) for name, value in (result.get('headers') or {}).items()]
        for cookie in result.get('cookies') or []:
            headers.append(('set-cookie', cookie))
        body = result.get('body')
        if body is None:
            body = ''
        if not isinstance(body, str):
            body = json.dumps(body)
        data = base64.b64decode(body) if result.get('isBase64Encoded') else body.encode('utf-8')
        if not any(name.lower() == 'content-type' for name, _ in headers):
            headers.append(('content-type', 'application/json'))
        try:
            status = int(result['statusCode'])
        except (TypeError, ValueError):
            status = 200
        return status, headers, data
    return 200, [('content-type', 'application/json')], json.dumps(result).encode('utf-8')


def error_response(error, direct, request_id):
    if direct:
        body = {'errorType': type(error).__name__, 'errorMessage': str(error)}
        return 502, [('content-type', 'application/json'), (ERROR_HEADER, 'Unhandled')], json.dumps(body).encode('utf-8')
    # As API Gateway does: anonymous callers learn that it failed, not why; the log has the error and its traceback.
    return 502, [('content-type', 'application/json')], json.dumps({'message': 'Internal Server Error', 'requestId': request_id}).encode('utf-8')


def new_request_id():
    # A version 4 UUID without importing uuid (which costs a cold start more than this).
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    text = raw.hex()
    return f'{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}'


def carries_secret(given):
    """True for a call of the host's: it carries this instance's secret (compared in constant time)."""
    return given is not None and len(INSTANCE_SECRET) > 0 and hmac.compare_digest(given.encode('utf-8'), INSTANCE_SECRET)


def handle(request, invoke):
    method, target, version, headers, body = request
    lookup = dict(headers)
    internal = carries_secret(lookup.get(SECRET_HEADER))
    mode = lookup.get(INVOKE_HEADER) if internal else None
    if mode == 'health':
        return 200, [('content-type', 'text/plain')], b'ok'
    if mode in ('init', 'warm'):
        # Cells are a node20 feature: a python3 instance is always a container booted for its version.
        return 403, [('content-type', 'text/plain')], b'refused'
    request_id = (internal and lookup.get(REQUEST_ID_HEADER)) or new_request_id()
    direct = mode == 'direct'
    try:
        event = json.loads(body.decode('utf-8') if body else 'null') if direct else http_event(method, target, version, headers, body, request_id)
    except ValueError as error:
        log_error(error)
        return error_response(error, direct or internal, request_id)
    try:
        result = invoke(event, Context(request_id))
        if direct:
            return 200, [('content-type', 'application/json')], json.dumps(result).encode('utf-8')
        return result_response(result)
    except Exception as error:  # noqa: BLE001 - a handler's error is the caller's 502
        return error_response(error, direct or internal, request_id)


def serve_connection(sock, invoke, on_first):
    """Serves HTTP/1.1 requests on one dialled connection until the host closes it."""
    stream = sock.makefile('rb')
    first = True
    try:
        while True:
            try:
                request = read_request(stream)
            except (BadRequest, ValueError):
                send_response(sock, 400, [('content-type', 'text/plain')], b'bad request', False)
                return
            if request is None:
                return
            if first:
                first = False
                on_first()
            status, headers, body = handle(request, invoke)
            keep_alive = dict(request[3]).get('connection', '').lower() != 'close'
            send_response(sock, status, headers, body, keep_alive)
            if not keep_alive:
                return
    except OSError:
        return
    finally:
        OUTPUT.flush(0.2)
        try:
            sock.close()
        except OSError:
            pass


def dial_host(invoke):
    """The host listens on a socket in a folder this container can only read, and the shim dials in: a few idle
    connections wait for the host at all times; each one the host starts using is replaced by a new dial."""
    lock = threading.Lock()
    state = {'spare': 0, 'retry': 0.01}

    def top_up():
        while True:
            with lock:
                if state['spare'] >= SPARE_CONNECTIONS:
                    return
                state['spare'] += 1
            threading.Thread(target=connection, daemon=True).start()

    def connection():
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(HOST_SOCKET)
        except OSError:
            sock.close()
            with lock:
                state['spare'] -= 1
                wait = state['retry']
                state['retry'] = min(wait * 2, 1.0)
            time.sleep(wait)
            top_up()
            return
        with lock:
            state['retry'] = 0.01
        used = []

        def on_first():
            used.append(True)
            with lock:
                state['spare'] -= 1
            top_up()

        serve_connection(sock, invoke, on_first)
        if not used:
            # An idle connection ended: the host restarted or went away. Dial again, backing off while nobody listens.
            with lock:
                state['spare'] -= 1
                wait = state['retry']
                state['retry'] = min(wait * 2, 1.0)
            time.sleep(wait)
            top_up()

    top_up()


def main():
    setup_logging()
    began = time.perf_counter()
    try:
        handler = load_handler()
    except BaseException as error:  # noqa: BLE001 - any failure to load is the deploy's error
        text = ''.join(traceback.format_exception(type(error), error, error.__traceback__)).rstrip('\n')
        print(f'ERROR\tInit Error\t{type(error).__name__}: {error}\n{text}', file=sys.stderr)
        OUTPUT.flush()
        os._exit(1)
    invoke = Invocations(handler, (time.perf_counter() - began) * 1000)
    OUTPUT.tee = False
    dial_host(invoke)
    stop = threading.Event()

    def on_signal(*_):
        OUTPUT.flush()
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    stop.wait()
    sys.exit(0)


if __name__ == '__main__':
    main()
