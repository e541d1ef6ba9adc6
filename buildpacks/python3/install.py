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
import re
import socket
import subprocess
import sys
import tarfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
SETTINGS = {}
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


# requirements.txt is read here the way pip reads it, and only plain requirement lines are accepted; pip is then given
# a file written here from those lines alone, so what it reads is exactly what was checked. pip would also read
# options after a requirement (`six --no-binary :all:`), split lines at \f, \x85 or \u2028 (str.splitlines), strip a
# BOM, join `\` continuations and expand ${VARIABLES}: none of that can smuggle an option in.
# Built so that no two quantifiers can take the same blanks (each `\s*` is followed by a character the one after it
# cannot start with), so a hostile line costs time in proportion to its length, not to its cube.
_NAME = r'[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?'
_SPEC = r'(?:~=|===|==|!=|<=|>=|<|>)\s*[A-Za-z0-9][A-Za-z0-9.*+!_-]*'
_SPECS = _SPEC + r'(?:\s*,\s*' + _SPEC + r')*'
REQUIREMENT = re.compile(
    r'(?P<name>' + _NAME + r')'
    r'(?:\s*\[\s*(?:' + _NAME + r'(?:\s*,\s*' + _NAME + r')*\s*)?\])?'
    r'(?:\s*(?P<versions>\(\s*(?:' + _SPECS + r'\s*)?\)|' + _SPECS + r'))?'
    r'(?:\s*;\s*(?P<marker>[A-Za-z0-9_.\'"()<>=!~,*+-][A-Za-z0-9_.\'"()<>=!~ \t,*+-]*))?'
)
# A requirement line is short: past these a file is refused before any line is matched.
MAX_LINE = 1024
MAX_LINES = 10_000
# What pip would take for a path to a local archive rather than a name on the index.
ARCHIVE = re.compile(r'\.(whl|zip|tar|tgz|tbz|txz|tlz|gz|bz2|xz|lz|lzma)$', re.I)
# pip's own comment rule: a # at the start of a line or after whitespace.
# A match starts only where a run of blanks starts, so a long run without a # is scanned once, not once per blank.
COMMENT = re.compile(r'(?:^|(?<!\s)\s+)#.*$')
LINE_BREAKS = {'\x0b': '\\v', '\x0c': '\\f', '\x1c': '\\x1c', '\x1d': '\\x1d', '\x1e': '\\x1e', '\x85': '\\x85', '\u2028': '\\u2028', '\u2029': '\\u2029', '\r': '\\r'}


class Refused(Exception):
    pass


def shown(text):
    """A line as the pusher will recognise it: short, with every invisible or unusual character escaped."""
    text = text if len(text) <= 80 else text[:80] + '…'
    return ''.join(c if ' ' <= c < '\x7f' else LINE_BREAKS.get(c, f'\\u{ord(c):04x}' if ord(c) > 0xff else f'\\x{ord(c):02x}') for c in text)


def read_requirements(data):
    """The requirement lines of requirements.txt (bytes), or Refused naming the first line that is not a plain one."""
    if data.startswith((b'\xff\xfe', b'\xfe\xff')):
        raise Refused('requirements.txt: is UTF-16 or UTF-32 (it has that byte-order mark); save it as UTF-8')
    if data.startswith(b'\xef\xbb\xbf'):
        data = data[3:]
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b'\n') + 1
        raise Refused(f'requirements.txt line {line}: is not UTF-8 text') from None
    # Numbered as pip numbers them, then also by the editor's lines (\n), which is where the pusher will look: one
    # pass over the text, since a file may hold many lines.
    lines = text.splitlines()
    editor_texts = text.split('\n')
    editor_line = []
    at = 0
    editor = 1
    for number, line in enumerate(lines):
        editor_line.append(editor)
        if number >= MAX_LINES:
            raise Refused(f'requirements.txt line {editor}: the file has more than {MAX_LINES} lines; list only the requirements')
        if len(line) > MAX_LINE:
            raise Refused(f'requirements.txt line {editor}: is longer than {MAX_LINE} characters; a requirement is one short line')
        at += len(line)
        ending = 2 if text.startswith('\r\n', at) else 1
        if '\n' in text[at:at + ending]:
            editor += 1
        at += ending
    requirements = []
    joined = []
    first = None
    for number, line in enumerate(lines):
        if line.endswith('\\') and not COMMENT.match(line):
            # A continuation: pip joins it with the next line, dropping the backslash.
            if first is None:
                first = number
            joined.append(line.strip('\\'))
            continue
        if COMMENT.match(line):
            line = ' ' + line
        if first is not None:
            joined.append(line)
            line, number, first, joined = ''.join(joined), first, None, []
        check = requirement_line(line, number + 1, editor_line[number], editor_texts)
        if check:
            requirements.append(check)
    if first is not None:
        check = requirement_line(''.join(joined), first + 1, editor_line[first], editor_texts)
        if check:
            requirements.append(check)
    return requirements


def requirement_line(raw, number, editor_number, editor_texts):
    """The requirement on one logical line ('' for a blank or comment line), or Refused naming the line."""
    where = f'requirements.txt line {editor_number}'
    if len(raw) > MAX_LINE:
        # Continuations join lines that passed the cap one by one into one that does not.
        raise Refused(f'{where}: is longer than {MAX_LINE} characters once its \\ continuations are joined; a requirement is one short line')
    line = COMMENT.sub('', raw).strip()
    if not line:
        return ''
    editor_text = editor_texts[editor_number - 1].rstrip('\r')
    breaks = sorted({LINE_BREAKS[c] for c in editor_text if c in LINE_BREAKS})
    if breaks:
        # The pusher sees one line where pip sees several: show both.
        where += f' ("{shown(editor_text)}", where pip reads {" and ".join(breaks)} as a line break)'
    tokens = line.split()
    if any(token.startswith('-') for token in tokens):
        option = next(token for token in tokens if token.startswith('-'))
        raise Refused(f'{where}: "{shown(line)}": options such as "{shown(option[:40])}" are not supported (the platform chooses the '
                      'package index and how packages are installed); list one requirement per line')
    if not line.isascii():
        raise Refused(f'{where}: "{shown(line)}": only plain requirements are supported (a name, extras, versions, markers), in ASCII')
    match = REQUIREMENT.fullmatch(line)
    if not match or '$' in line or '#' in line:
        raise Refused(f'{where}: "{shown(line)}": only plain requirements are supported (a name, extras, versions and markers, '
                      'e.g. "requests[socks]>=2.31; python_version >= \'3.8\'"), not URLs, paths or options')
    if ARCHIVE.search(match.group('name')):
        raise Refused(f'{where}: "{shown(line)}": is a file name; only requirements on the package index are supported')
    return line


def run_pip():
    with open(os.path.join(HERE, 'inputs', 'requirements.txt'), 'rb') as source:
        data = source.read()
    try:
        lines = read_requirements(data)
    except Refused as refused:
        fail(str(refused))
    # The file pip reads is this one: the checked lines, in ASCII, one per line, nothing else.
    requirements = os.path.join(WORK, 'requirements.txt')
    with open(requirements, 'w', encoding='ascii', newline='\n') as target:
        target.write(''.join(f'{line}\n' for line in lines))
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


def main():
    SETTINGS.update(json.load(open(os.path.join(HERE, 'install.json'), encoding='utf-8')))
    start_bridge()
    code = run_pip()
    if code != 0:
        sys.exit(code)
    send_output()
    sys.exit(0)


if __name__ == '__main__':
    try:
        main()
    except SystemExit:
        raise
    except Exception as error:  # noqa: BLE001 - the server shows this line as the reason
        fail(str(error))
