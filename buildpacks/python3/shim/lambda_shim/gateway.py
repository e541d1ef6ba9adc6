# On a swarm: a connection to the gateway through the function's relay, over TLS that trusts the platform's authority
# alone, opened by the line that proves which instance this is (` log` for the output's connection).
import socket
import threading

from . import settings

HANDSHAKE_SECONDS = 10
_lock = threading.Lock()
_context = []


def context():
    """The TLS context, made once: the authority's file is its only trust (no system store is loaded with a cafile)."""
    # Imported here: a local instance (no gateway) does not pay for ssl's import in its cold start.
    import ssl  # noqa: PLC0415

    with _lock:
        if not _context:
            made = ssl.create_default_context(cafile=settings.GATEWAY_AUTHORITY)
            made.minimum_version = ssl.TLSVersion.TLSv1_2
            _context.append(made)
        return _context[0]


def dial_gateway(channel=''):
    """The TLS socket, its line sent the moment the handshake is done, before anything else; raises OSError (ssl's
    errors are OSErrors) when the relay is not there or is not the one the authority signed."""
    gateway = settings.GATEWAY
    raw = socket.create_connection((gateway.hostname, gateway.port), timeout=HANDSHAKE_SECONDS)
    try:
        # Small answers leave at once: Nagle's algorithm would hold one back for the relay's delayed acknowledgement.
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock = context().wrap_socket(raw, server_hostname=settings.GATEWAY_NAME)
    except BaseException:
        raw.close()
        raise
    try:
        sock.sendall(settings.dial_in_line(channel))
        sock.settimeout(None)
    except BaseException:
        sock.close()
        raise
    return sock
