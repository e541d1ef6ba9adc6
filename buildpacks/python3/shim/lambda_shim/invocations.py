# The platform's log records around each invocation: START, END, REPORT (the first with Init Duration), timeouts, errors.
import logging
import resource
import sys
import threading
import time
import traceback
from datetime import datetime, timezone

from .output import platform_line
from . import settings

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
        platform_line(f'START RequestId: {request_id} Version: {settings.FUNCTION_VERSION}')
        finished = threading.Event()
        status = 'success'

        def timed_out():
            if not finished.is_set():
                platform_line(f'{datetime.now(timezone.utc).isoformat()} {request_id} Task timed out after {settings.TIMEOUT_MS / 1000:.2f} seconds')
                finish('timeout')

        timer = threading.Timer(settings.TIMEOUT_MS / 1000, timed_out)
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
                          f'Memory Size: {settings.MEMORY_MB} MB\tMax Memory Used: {max_mb} MB{init_text}\tStatus: {how}')

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



def init_error_text(error):
    """A handler that failed to load, as the Init Error line shows it: `Type: message` and the traceback."""
    text = ''.join(traceback.format_exception(type(error), error, error.__traceback__)).rstrip('\n')
    return f'{type(error).__name__}: {error}\n{text}'
