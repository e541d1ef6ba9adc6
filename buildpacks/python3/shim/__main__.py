# The python3 shim's entry, PID 1 (`python3 -I -B /opt/lambda/shim`): loads the handler (a cell waits for its init),
# then serves the host. The protocol is the node20 shim's (buildpacks/node20/shim/). Python standard library only.
import os
import queue
import signal
import sys
import time

# Import order matters: the secret is read from stdin before anything else runs, then the output is captured.
from lambda_shim import settings
from lambda_shim.cell import Cell
from lambda_shim.handler import load_handler
from lambda_shim.host import Serving, dial_host
from lambda_shim.invocations import Invocations, init_error_text, setup_logging
from lambda_shim.output import OUTPUT

# Python put this folder first on sys.path to run it; the function's own imports do not look here.
HERE = os.path.realpath(os.path.dirname(__file__))
sys.path[:] = [entry for entry in sys.path if os.path.realpath(entry) != HERE]

# Work for the main thread: a cell's handler loads there, as in a classic start (a module may set signal handlers,
# which Python allows in the main thread only). None stops the process.
JOBS = queue.Queue()


def on_main(work):
    """Runs `work` in the main thread and returns what it returned, or raises what it raised."""
    done = queue.Queue(1)

    def job():
        try:
            done.put((True, work()))
        except BaseException as error:  # noqa: BLE001 - handed back to the caller
            done.put((False, error))

    JOBS.put(job)
    ok, value = done.get()
    if not ok:
        raise value
    return value


def on_signal(*_):
    OUTPUT.flush()
    JOBS.put(None)


def set_signals():
    # Set after the function's module loaded, so a module that sets its own SIGTERM handler does not keep it.
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)


def load_then_set_signals():
    handler = load_handler()
    set_signals()
    return handler


def main():
    setup_logging()
    serving = Serving()
    if settings.IS_CELL:

        def loaded(handler, init_ms):
            serving.invoke = Invocations(handler, init_ms)
            OUTPUT.tee = False

        # A cell loads its handler in the main thread, then sets the shim's signal handlers, as a classic start does.
        serving.cell = Cell(lambda: on_main(load_then_set_signals), loaded)
        # While nobody waits: what a handler's first imports cost is paid now.
        serving.cell.preimport()
    else:
        began = time.perf_counter()
        try:
            handler = load_handler()
        except BaseException as error:  # noqa: BLE001 - any failure to load is the deploy's error
            print(f'ERROR\tInit Error\t{init_error_text(error)}', file=sys.stderr)
            OUTPUT.flush()
            os._exit(1)
        serving.invoke = Invocations(handler, (time.perf_counter() - began) * 1000)
        OUTPUT.tee = False
    dial_host(serving)
    set_signals()
    while True:
        job = JOBS.get()
        if job is None:
            break
        job()
    sys.exit(0)


main()
