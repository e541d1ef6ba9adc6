# The python3 shim's entry, PID 1 (`python3 -I -B /opt/lambda/shim`): loads the handler, then serves the host.
# The protocol is the node20 shim's (buildpacks/node20/shim/). Python standard library only.
import os
import signal
import sys
import threading
import time
import traceback

# Import order matters: the secret is read from stdin before anything else runs, then the output is captured.
import lambda_shim.settings  # noqa: F401
from lambda_shim.handler import load_handler
from lambda_shim.host import dial_host
from lambda_shim.invocations import Invocations, setup_logging
from lambda_shim.output import OUTPUT

# Python put this folder first on sys.path to run it; the function's own imports do not look here.
HERE = os.path.realpath(os.path.dirname(__file__))
sys.path[:] = [entry for entry in sys.path if os.path.realpath(entry) != HERE]


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


main()
