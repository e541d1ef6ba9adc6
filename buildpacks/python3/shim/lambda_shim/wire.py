# HTTP/1.1 on a dialled connection: reads one request of the host's (chunked bodies too) and writes one answer.
import re

MAX_HEAD = 64 * 1024
REASONS = {200: 'OK', 201: 'Created', 204: 'No Content', 301: 'Moved Permanently', 302: 'Found', 304: 'Not Modified',
           400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 500: 'Internal Server Error',
           502: 'Bad Gateway', 503: 'Service Unavailable'}


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
