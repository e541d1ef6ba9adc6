# The connection to the host: dials host.sock (on a swarm, the gateway over TLS), serves each dialled connection in a thread, routes each request.
import json
import os
import socket
import threading
import time

from . import settings
from .event import Context, error_response, http_event, new_request_id, result_response
from .invocations import log_error
from .gateway import dial_gateway
from .output import OUTPUT
from .settings import HOST_SOCKET, INVOKE_HEADER, REQUEST_ID_HEADER, SECRET_HEADER, carries_secret
from .wire import BadRequest, read_request, send_response

SPARE_CONNECTIONS = 4


class Serving:
    """What this instance serves: `invoke` once a handler is loaded; a stem cell's `cell` until then and after."""

    def __init__(self, invoke=None, cell=None):
        self.invoke = invoke
        self.cell = cell


def handle(request, serving):
    method, target, version, headers, body = request
    lookup = dict(headers)
    internal = carries_secret(lookup.get(SECRET_HEADER))
    mode = lookup.get(INVOKE_HEADER) if internal else None
    if mode == 'health':
        return 200, [('content-type', 'text/plain')], b'ok'
    cell = serving.cell
    if mode == 'init':
        # Only a cell takes an init, once: a classic instance refuses every one.
        return cell.init(body) if cell is not None else (403, [('content-type', 'text/plain')], b'refused')
    invoke = serving.invoke
    if mode == 'warm':
        if invoke is None and cell is not None and not cell.tried:
            return cell.warm(request)
        return 403, [('content-type', 'text/plain')], b'refused'
    if invoke is None:
        return 503, [('content-type', 'text/plain')], b'not initialised'
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


def serve_connection(sock, serving, on_first):
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
            status, headers, body = handle(request, serving)
            keep_alive = dict(request[3]).get('connection', '').lower() != 'close'
            send_response(sock, status, headers, body, keep_alive)
            if serving.cell is not None and serving.cell.exit_after_answer:
                # A cell whose init failed is done: its answer is sent, its output too, then it ends.
                OUTPUT.flush()
                os._exit(1)
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


def dial():
    """One connection for the host to send requests on: the gateway's over TLS on a swarm, else host.sock."""
    if settings.GATEWAY:
        return dial_gateway()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(HOST_SOCKET)
    except OSError:
        sock.close()
        raise
    return sock


def dial_host(serving):
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
            threading.Thread(target=spare, daemon=True).start()

    def back_off():
        # Nobody listens, or the host closed an idle connection: wait (doubling, up to a second) before dialling again.
        with lock:
            wait = state['retry']
            state['retry'] = min(wait * 2, 1.0)
        time.sleep(wait)

    def spare():
        """One spare connection's thread: it dials until the host uses what it dialled. It stays counted as a spare
        while it waits to dial again, so a host that is away never makes more threads than there are spares."""
        while True:
            try:
                sock = dial()
            except OSError:
                back_off()
                continue
            with lock:
                state['retry'] = 0.01
            used = []

            def on_first():
                used.append(True)
                with lock:
                    state['spare'] -= 1
                top_up()

            serve_connection(sock, serving, on_first)
            if used:
                return
            # An idle connection ended: the host restarted or went away.
            back_off()

    top_up()
