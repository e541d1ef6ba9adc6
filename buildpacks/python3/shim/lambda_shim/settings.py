# What the host tells this instance: its secret (the first line of stdin), whether it is a cell, its sockets or its
# gateway, the function's settings.
import hmac
import os
from urllib.parse import urlsplit

# A stem cell (server/instances/cells/cells.ts) boots with no function; the host's one init call brings the rest.
IS_CELL = os.environ.pop('LAMBDA_CELL', None) == '1'
SOCKET_DIR = os.environ.get('LAMBDA_SOCKET_DIR', '/run/lambda')
HOST_SOCKET = os.path.join(SOCKET_DIR, 'host.sock')
LOG_SOCKET = os.path.join(SOCKET_DIR, 'log.sock')

# A cell learns its function's settings only at its init, so they are read again then: modules read them as
# `settings.NAME` at each use, never copied at import.
TASK_ROOT = HANDLER = FUNCTION_NAME = FUNCTION_VERSION = MEMORY_MB = ''
TIMEOUT_MS = 0


def read_settings():
    global TASK_ROOT, HANDLER, FUNCTION_NAME, FUNCTION_VERSION, TIMEOUT_MS, MEMORY_MB
    TASK_ROOT = os.environ.get('LAMBDA_TASK_ROOT', '/var/task')
    HANDLER = os.environ.get('LAMBDA_HANDLER', 'lambda_function.handler')
    FUNCTION_NAME = os.environ.get('LAMBDA_FUNCTION_NAME', 'function')
    FUNCTION_VERSION = os.environ.get('LAMBDA_FUNCTION_VERSION', '$LATEST')
    TIMEOUT_MS = int(os.environ.get('LAMBDA_TIMEOUT_MS', '10000'))
    MEMORY_MB = os.environ.get('LAMBDA_MEMORY_MB', '256')


read_settings()


def read_secret():
    """The first line of stdin (at most 256 bytes), which the host writes once at boot and then closes; on a swarm,
    the first line of the secret's file (a swarm task has no stdin)."""
    secret_file = os.environ.get('LAMBDA_SECRET_FILE')
    if secret_file:
        try:
            with open(secret_file, 'rb') as file:
                return file.read(256).split(b'\n', 1)[0].strip()
        except OSError:
            return b''
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


# The host's own calls (health checks, direct invokes, a cell's warm-ups and init) carry this instance's secret; a call without it is public
# traffic whatever x-lambda-internal-* headers it sends. It comes on stdin, never in the environment, so it is in no
# /proc/*/environ the handler could read, and stdin holds nothing more afterwards.
INSTANCE_SECRET = read_secret()

# On a swarm the instance runs on another machine than the host: it dials the gateway over TLS (LAMBDA_GATEWAY, e.g.
# tls://lambda-gateway:7443), trusting only the platform's authority, and proves itself by its first line: its id and
# its secret. Unset, it dials the host's sockets in SOCKET_DIR.
GATEWAY = urlsplit(os.environ['LAMBDA_GATEWAY']) if os.environ.get('LAMBDA_GATEWAY') else None
GATEWAY_AUTHORITY = os.environ.get('LAMBDA_GATEWAY_AUTHORITY', '/run/lambda/authority.pem')
# The name the relay's certificate must carry (the address's own unless said).
GATEWAY_NAME = os.environ.get('LAMBDA_GATEWAY_NAME') or (GATEWAY.hostname if GATEWAY else None)
INSTANCE_ID = os.environ.get('LAMBDA_INSTANCE_ID', '')


def dial_in_line(channel=''):
    """What an instance dialling over the network says first (` log` for its output's connection)."""
    return INSTANCE_ID.encode('utf-8') + b' ' + INSTANCE_SECRET + channel.encode('utf-8') + b'\n'

# The host marks its own calls with these headers (server/instances/protocol.ts); the gateway also strips them from public traffic.
INVOKE_HEADER = 'x-lambda-internal-invoke'
SECRET_HEADER = 'x-lambda-internal-secret'
REQUEST_ID_HEADER = 'x-lambda-internal-request-id'
ERROR_HEADER = 'x-lambda-internal-error'


def carries_secret(given):
    """True for a call of the host's: it carries this instance's secret (compared in constant time)."""
    return given is not None and len(INSTANCE_SECRET) > 0 and hmac.compare_digest(given.encode('utf-8'), INSTANCE_SECRET)

