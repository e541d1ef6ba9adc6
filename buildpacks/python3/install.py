# Runs in the throwaway install container (uid 10001, no network, read-only root, tmpfs /work and /tmp): installs
# the function's requirements.txt with the platform's settings only, then sends the installed folder back.
# Python standard library and pip only. The server mounts this folder read-only at /lambda-install with:
#   install.json  {"registry": "https://…/simple/", "ca": true|false, "inputs": ["requirements.txt"], "output": "python",
#                  "localIndexes": ["/opt/pypi/simple"], "localLinks": ["/opt/wheels"]}  (the host's local package folders,
#                  mounted read-only at the same paths)
#   inputs/       the repository's requirements.txt, nothing else (no pip.conf, no code)
#   ca.pem        CA bundle the host trusts for the registry (when "ca" is true)
#   proxy.sock    the server's registry-only CONNECT proxy; also takes one PUT /output
import http.client
import json
import os
import socket
import subprocess
import sys
import tarfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
SETTINGS = json.load(open(os.path.join(HERE, 'install.json'), encoding='utf-8'))
SOCKET_PATH = os.path.join(HERE, 'proxy.sock')
WORK = os.getcwd()
# The container has its own loopback: this port is only the bridge to the server's socket.
BRIDGE_PORT = 3128


def fail(message, code=70):
    print(f'install: error: {message}', file=sys.stderr, flush=True)
    sys.exit(code)


def pipe(source, target):
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            target.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, target):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def start_bridge():
    """pip speaks to an HTTP proxy on TCP; the only way out is the Unix socket, so bridge one to the other."""
    server = socket.create_server(('127.0.0.1', BRIDGE_PORT))

    def accept():
        while True:
            client, _ = server.accept()
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                upstream.connect(SOCKET_PATH)
            except OSError:
                client.close()
                continue
            threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
            threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()


def check_requirements(path):
    """Requirement lines only: an option line (--index-url, -e, -r, --trusted-host …) could change where pip looks."""
    with open(path, encoding='utf-8') as lines:
        for number, line in enumerate(lines, 1):
            text = line.split(' #', 1)[0].strip()
            if text.startswith('-'):
                fail(f'requirements.txt line {number}: options such as "{text.split()[0][:40]}" are not supported '
                     '(the platform chooses the package index); list one requirement per line')


def run_pip():
    requirements = os.path.join(WORK, 'requirements.txt')
    with open(os.path.join(HERE, 'inputs', 'requirements.txt'), 'rb') as source, open(requirements, 'wb') as target:
        target.write(source.read())
    check_requirements(requirements)
    args = [sys.executable, '-I', '-m', 'pip', 'install',
            # --isolated: no pip.conf and no PIP_* variable; --only-binary: wheels only, so no package's setup.py runs.
            '--isolated', '--no-input', '--disable-pip-version-check', '--no-cache-dir', '--only-binary=:all:',
            '--no-warn-script-location', '--progress-bar', 'off', '--retries', '1', '--timeout', '30',
            '--target', os.path.join(WORK, SETTINGS['output']),
            '--index-url', SETTINGS['registry'], '--proxy', f'http://127.0.0.1:{BRIDGE_PORT}']
    if SETTINGS.get('ca'):
        args += ['--cert', os.path.join(HERE, 'ca.pem')]
    for index in SETTINGS.get('localIndexes', []):
        args += ['--extra-index-url', 'file://' + index]
    for links in SETTINGS.get('localLinks', []):
        args += ['--find-links', links]
    args += ['-r', requirements]
    env = {'PATH': os.environ.get('PATH', '/usr/local/bin:/usr/bin:/bin'), 'HOME': '/tmp', 'LANG': 'C.UTF-8'}
    return subprocess.call(args, cwd=WORK, env=env, stdin=subprocess.DEVNULL)


class UnixConnection(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(SOCKET_PATH)


def send_output():
    """A tar of the installed folder (its entries under `python/`), PUT to the server, which keeps it for the build."""
    output = os.path.join(WORK, SETTINGS['output'])
    os.makedirs(output, exist_ok=True)
    archive = '/tmp/output.tar'
    with tarfile.open(archive, 'w', format=tarfile.PAX_FORMAT) as tar:
        tar.add(output, arcname=SETTINGS['output'], filter=portable)
    connection = UnixConnection('localhost')
    with open(archive, 'rb') as body:
        connection.request('PUT', '/output', body=body, headers={'Content-Length': str(os.path.getsize(archive))})
    response = connection.getresponse()
    response.read()
    if response.status != 204:
        fail(f'the server refused the installed files ({response.status})')


def portable(info):
    info.uid = info.gid = 0
    info.uname = info.gname = ''
    if info.issym() or info.islnk():
        # A link could point outside the folder once it is unpacked in an image: wheels need none.
        return None
    info.mode = 0o755 if info.isdir() or info.mode & 0o111 else 0o644
    return info


try:
    start_bridge()
    code = run_pip()
    if code != 0:
        sys.exit(code)
    send_output()
    sys.exit(0)
except SystemExit:
    raise
except Exception as error:  # noqa: BLE001 - the server shows this line as the reason
    fail(str(error))
