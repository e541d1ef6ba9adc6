# A stem cell before it has a function: what it imports while it waits, its warm-up calls, and its one init.
import gc
import importlib
import importlib.machinery
import json
import os
import sys
import threading
import time

from . import settings
from .event import Context, http_event, new_request_id, result_response
from .handler import REQUIREMENTS
from .invocations import init_error_text
from .output import OUTPUT

# What a handler's first imports commonly cost (tens of milliseconds together), taken from the standard library only:
# typing, dataclasses, datetime, decimal, enum, uuid and the like are what pydantic, requests, boto-style clients and
# most handlers load first; asyncio runs `async def` handlers. A version's own modules are never imported early.
PREIMPORT = (
    'typing', 'dataclasses', 'decimal', 'enum', 'uuid', 'inspect', 'collections.abc', 'functools', 'warnings',
    'ipaddress', 'pathlib', 'copy', 'hashlib', 'hmac', 'base64', 'random', 'string', 'struct', 'math', 'fractions',
    'urllib.parse', 'urllib.request', 'http.client', 'http.cookies', 'email.utils', 'email.message', 'ssl',
    'tempfile', 'zlib', 'gzip', 'asyncio', 'concurrent.futures', 'contextvars', 'operator', 'itertools', 'weakref',
    'zoneinfo', 'textwrap', 'pprint', 'traceback', 'logging.handlers', 'csv', 'io', 'abc', 'numbers', 'secrets',
    '__future__', 'gettext', 'argparse', 'glob', 'mimetypes', 'html', 'unicodedata', 'importlib.metadata',
)
REFUSED = (403, [('content-type', 'text/plain')], b'refused')


class Cell:
    """Takes one init call, the first with the right secret; any other (a second one, a wrong or missing secret, a
    classic instance) is refused and changes nothing. `load()` loads the handler (in the main thread) and returns it;
    `loaded(handler, init_ms)` is told the function once it is."""

    def __init__(self, load, loaded):
        self.load = load
        self.loaded = loaded
        self.lock = threading.Lock()
        self.tried = False
        self.exit_after_answer = False
        self.preimported = ()

    def preimport(self):
        before = set(sys.modules)
        for name in PREIMPORT:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - a module this Python lacks is only not imported early
                pass
        self.preimported = tuple(sorted(set(sys.modules) - before))
        # What is loaded now lives as long as the cell: the collector need not walk it again during the handler's imports.
        gc.collect()
        gc.freeze()

    def warm(self, request):
        """A warm-up call: the request path a function's requests take, with no function and no output, so what Python
        compiles or loads on a first request is ready when the real one comes."""
        method, target, version, headers, body = request
        request_id = new_request_id()
        event = http_event(method, target, version, headers, body, request_id)
        Context(request_id).get_remaining_time_in_millis()
        try:
            json.loads(body or b'null')
        except ValueError:
            pass
        return result_response({'statusCode': 200, 'headers': {'x-warm': '1'}, 'cookies': ['warm=1'], 'body': {'path': event['rawPath']}})

    def init(self, body):
        """The call's env becomes the whole environment, as a container's own env would be (HOSTNAME stays: Docker sets
        it), then the handler loads in the main thread as in a classic start."""
        with self.lock:
            if self.tried or not settings.IS_CELL:
                return REFUSED
            self.tried = True
        try:
            env = json.loads(body.decode('utf-8'))['env']
            if not isinstance(env, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
                raise ValueError('env is not a mapping of strings')
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as error:
            self.exit_after_answer = True
            return 400, [('content-type', 'text/plain')], f'bad init: {error}'.encode('utf-8')
        for name in list(os.environ):
            if name != 'HOSTNAME':
                del os.environ[name]
        os.environ.update(env)
        # The time zone is read when the time module loads: read it again from the function's env.
        time.tzset()
        settings.read_settings()
        self.forget_shadowed()
        OUTPUT.dial_now()
        began = time.perf_counter()
        try:
            handler = self.load()
        except BaseException as error:  # noqa: BLE001 - any failure to load is the version's error
            text = init_error_text(error)
            print(f'ERROR\tInit Error\t{text}', file=sys.stderr)
            self.exit_after_answer = True
            return 500, [('content-type', 'text/plain')], text.encode('utf-8', 'replace')
        self.loaded(handler, (time.perf_counter() - began) * 1000)
        return 200, [('content-type', 'text/plain')], b'ok'

    def forget_shadowed(self):
        """A classic start would import the version's own module where the cell imported the standard library's one
        early (a `typing.py` in the task folder or its requirements): then every module imported early is forgotten,
        and the version's imports resolve as they would in its own container."""
        places = [settings.TASK_ROOT, REQUIREMENTS]
        tops = {name.split('.')[0] for name in self.preimported}
        # A name in the folders' listings first (a module file, an extension, a package folder), then exactly as
        # the import system finds it.
        listed = set()
        for place in places:
            try:
                listed.update(entry.split('.')[0] for entry in os.listdir(place))
            except OSError:
                pass
        for name in sorted(tops & listed):
            try:
                spec = importlib.machinery.PathFinder.find_spec(name, places)
            except (ImportError, ValueError):
                spec = None
            if spec is not None and spec.loader is not None:
                for module in self.preimported:
                    sys.modules.pop(module, None)
                importlib.invalidate_caches()
                return
