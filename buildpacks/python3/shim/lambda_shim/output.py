# The function's output (print, logging, sys.stdout/stderr, descriptors 1 and 2), sent in batches to the host's log.sock
# (on a swarm, a second connection to the gateway).
# Importing it starts the capture: from then on, whatever the process writes goes through here.
import codecs
import io
import os
import socket
import sys
import threading
import time

from . import settings
from .gateway import dial_gateway
from .settings import LOG_SOCKET


class Output:
    """Function output (print, logging, sys.stdout/stderr writes) goes in batches to log.sock, as the node20 shim's:
    a line is `<ms>\\t<o|e|p>\\t<text>`. At most MAX_PENDING characters wait while the host is away; later lines are
    dropped and counted. Until the function has loaded, output also goes to the container's own stdout/stderr so a
    deploy whose handler fails to load can show why."""

    MAX_PENDING = 1024 * 1024
    MAX_LINE = 64 * 1024

    def __init__(self):
        self.lock = threading.Lock()
        self.wake = threading.Condition(self.lock)
        self.pending = []
        self.pending_size = 0
        self.dropped = 0
        self.tee = True
        self.real = {'o': sys.__stdout__, 'e': sys.__stderr__}
        self.retry_now = threading.Event()
        threading.Thread(target=self.run, daemon=True, name='lambda-log').start()

    def add(self, stream, text):
        if len(text) > self.MAX_LINE:
            text = f'{text[:self.MAX_LINE]} [lambda: line cut at {self.MAX_LINE} characters]'
        with self.lock:
            if self.pending_size >= self.MAX_PENDING:
                self.dropped += 1
                return
            if self.dropped:
                self.pending.append(f'{int(time.time() * 1000)}\tp\t[lambda] {self.dropped} lines dropped: the function wrote faster than its log is kept\n')
                self.dropped = 0
            line = f'{int(time.time() * 1000)}\t{stream}\t{text}\n'
            self.pending.append(line)
            self.pending_size += len(line)
            self.wake.notify()

    def flush(self, timeout=1.0):
        """Waits (bounded) until what is pending has been written to the socket."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if not self.pending:
                    return
            time.sleep(0.005)

    def dial_now(self):
        """Dials now rather than at the next retry: a cell's function is about to load, and its socket is there."""
        self.retry_now.set()

    @staticmethod
    def dial():
        # The gateway joins a connection whose dial-in line ends with ` log` to this instance's log.
        if settings.GATEWAY:
            return dial_gateway(' log')
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(LOG_SOCKET)
        except OSError:
            sock.close()
            raise
        return sock

    def run(self):
        sock = None
        retry = 0.01
        while True:
            if sock is None:
                try:
                    sock = self.dial()
                    retry = 0.01
                except OSError:
                    sock = None
                    self.retry_now.wait(retry)
                    self.retry_now.clear()
                    retry = min(retry * 2, 1.0)
                    continue
            with self.lock:
                while not self.pending:
                    self.wake.wait()
                batch = ''.join(self.pending)
            try:
                sock.sendall(batch.encode('utf-8', 'replace'))
            except OSError:
                sock.close()
                sock = None
                continue
            with self.lock:
                # Only what was sent leaves the list: lines added meanwhile stay.
                sent = batch.count('\n')
                del self.pending[:sent]
                self.pending_size = sum(len(line) for line in self.pending)


OUTPUT = Output()


class Capture(io.TextIOBase):
    """sys.stdout / sys.stderr: whole lines to the log socket (a partial line waits for its newline or a platform line)."""

    def __init__(self, letter):
        self.letter = letter
        self.partial = ''
        self.lock = threading.Lock()

    def writable(self):
        return True

    @property
    def encoding(self):
        return 'utf-8'

    def isatty(self):
        return False

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f'write() argument must be str, not {type(text).__name__}')
        written = len(text)
        if OUTPUT.tee:
            real = OUTPUT.real[self.letter]
            real.write(text)
            real.flush()
        with self.lock:
            text = self.partial + text
            lines = text.split('\n')
            self.partial = lines.pop()
            if len(self.partial) > Output.MAX_LINE:
                lines.append(self.partial)
                self.partial = ''
        for line in lines:
            OUTPUT.add(self.letter, line[:-1] if line.endswith('\r') else line)
        return written

    def end_partial(self):
        with self.lock:
            text, self.partial = self.partial, ''
        if text:
            OUTPUT.add(self.letter, text)

    def flush(self):
        pass


class BinaryCapture:
    """sys.stdout.buffer / sys.stderr.buffer: bytes written there are decoded and captured the same way."""

    def __init__(self, text):
        self.text = text

    def write(self, data):
        self.text.write(bytes(data).decode('utf-8', 'replace'))
        return len(data)

    def flush(self):
        pass


STDOUT = Capture('o')
STDERR = Capture('e')
STDOUT.buffer = BinaryCapture(STDOUT)
STDERR.buffer = BinaryCapture(STDERR)


def capture_descriptors():
    """Descriptors 1 and 2 become pipes read here, so what C code, os.write and child processes write is captured
    too (as the node20 shim captures fs.writeSync(1)); the container's own stdout/stderr stay for the tee."""
    for fd, letter, capture in ((1, 'o', STDOUT), (2, 'e', STDERR)):
        try:
            saved = os.dup(fd)
            read_end, write_end = os.pipe()
            os.dup2(write_end, fd)
            os.close(write_end)
        except OSError:
            continue
        OUTPUT.real[letter] = open(saved, 'w', encoding='utf-8', errors='replace', closefd=True)
        threading.Thread(target=pump, args=(read_end, capture), daemon=True, name=f'lambda-fd{fd}').start()


def pump(read_end, capture):
    decoder = codecs.getincrementaldecoder('utf-8')('replace')
    while True:
        try:
            data = os.read(read_end, 65536)
        except OSError:
            return
        if not data:
            return
        capture.write(decoder.decode(data))


capture_descriptors()
sys.stdout = STDOUT
sys.stderr = STDERR


def platform_line(text):
    # A platform line (START, END, REPORT) ends whatever the function left without a newline.
    STDOUT.end_partial()
    STDERR.end_partial()
    OUTPUT.add('p', text)


