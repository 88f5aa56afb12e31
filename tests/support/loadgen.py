"""Load on a guest TCP server (fixtures/guests/load/load_guest.c `serve`): many concurrent
loopback clients driven by one selector loop, the runner's open descriptors and RSS read
from /proc, a 1 KiB round-trip latency probe. Shared by tests/test_load.py,
tests/test_faults.py and bench/bench_load.py.
"""

from __future__ import annotations

import os
import select
import selectors
import socket
import struct
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

KIB = 1024
QUIT_MAGIC = b"\0QUIT\0"


def proc_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def proc_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def settled_fds(pid: int, timeout: float = 10.0) -> int:
    """The runner's open descriptors once the count holds still for 0.5 s (the guest
    finishes a connection after its client has all its bytes back)."""
    last, since, end = proc_fds(pid), time.monotonic(), time.monotonic() + timeout
    while time.monotonic() < end:
        time.sleep(0.1)
        now = proc_fds(pid)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= 0.5:
            break
    return last


def payload(size: int) -> bytes:
    """Random bytes that never start like QUIT_MAGIC (first byte non-zero)."""
    data = bytearray(os.urandom(size))
    data[0] |= 1
    return bytes(data)


@dataclass
class Client:
    sock: socket.socket
    data: bytes
    sent: int = 0
    back: bytearray = field(default_factory=bytearray)
    start: float = 0.0
    done: float = 0.0
    reset_after: int | None = None  # abort with RST once this many bytes are sent


@dataclass
class Round:
    clients: int
    echoed_ok: int        # clients that got every byte back, identical
    bytes_echoed: int
    seconds: float
    resets: int           # clients the test itself reset mid-transfer


def run_clients(port: int, n: int, size: int, timeout: float, reset: int = 0) -> Round:
    """`n` clients connect at once to 127.0.0.1:`port`, each sends `size` random bytes and
    reads them back. The first `reset` clients abort with a RST after half their bytes.
    Returns when every client is finished, or raises TimeoutError after `timeout` s."""
    sel = selectors.DefaultSelector()
    start = time.monotonic()
    pending: set[int] = set()
    clients: dict[int, Client] = {}
    for i in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.connect_ex(("127.0.0.1", port))
        c = Client(s, payload(size), start=time.monotonic(), reset_after=size // 2 if i < reset else None)
        clients[s.fileno()] = c
        pending.add(s.fileno())
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE, c)
    try:
        while pending:
            if time.monotonic() - start > timeout:
                raise TimeoutError(f"{len(pending)} of {n} clients unfinished after {timeout} s")
            for key, events in sel.select(timeout=1.0):
                c: Client = key.data
                fd = key.fd
                if events & selectors.EVENT_WRITE and c.sent < len(c.data):
                    limit = c.reset_after if c.reset_after is not None else len(c.data)
                    try:
                        c.sent += c.sock.send(c.data[c.sent:limit])
                    except (BlockingIOError, InterruptedError):
                        pass
                    if c.reset_after is not None and c.sent >= c.reset_after:
                        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        finish(sel, c, pending, fd)
                        continue
                    if c.sent == len(c.data):
                        sel.modify(c.sock, selectors.EVENT_READ, c)
                if events & selectors.EVENT_READ:
                    try:
                        chunk = c.sock.recv(65536)
                    except (BlockingIOError, InterruptedError):
                        continue
                    except ConnectionError:
                        chunk = b""
                    c.back += chunk
                    if not chunk or len(c.back) >= len(c.data):
                        finish(sel, c, pending, fd)
    finally:
        for fd in list(pending):
            finish(sel, clients[fd], pending, fd)
        sel.close()
    ok = sum(1 for c in clients.values() if c.reset_after is None and bytes(c.back) == c.data)
    return Round(n, ok, sum(len(c.back) for c in clients.values()), time.monotonic() - start, reset)


def finish(sel: selectors.BaseSelector, c: Client, pending: set[int], fd: int) -> None:
    c.done = time.monotonic()
    sel.unregister(c.sock)
    c.sock.close()
    pending.discard(fd)


def round_trips_1k(port: int, count: int, timeout: float) -> list[float]:
    """Seconds of `count` 1 KiB round trips on one connection (send 1 KiB, read it back)."""
    times = []
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        data = payload(KIB)
        for _ in range(count):
            t0 = time.perf_counter()
            s.sendall(data)
            back = b""
            while len(back) < KIB:
                chunk = s.recv(KIB - len(back))
                if not chunk:
                    raise ConnectionError("the server closed the probe connection")
                back += chunk
            times.append(time.perf_counter() - t0)
            if back != data:
                raise AssertionError("1 KiB round trip came back different")
    return times


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class GuestServer:
    """`load_guest serve` under `cmd` (a `wit2witx run` command line); the runner's pid is
    the child's (the native runners exec themselves in place)."""

    def __init__(self, cmd: list[str], env: dict[str, str], timeout: float) -> None:
        self.timeout = timeout
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else "(no port line before the timeout)"
        if not line.startswith("port "):
            self.kill()
            raise RuntimeError(f"guest server did not start: {line!r} {self.proc.stderr.read()}")
        self.port = int(line.split()[1])
        self.pid = self.proc.pid

    def stop(self) -> tuple[int, str, str]:
        """Ask the guest to quit (a connection starting with QUIT_MAGIC); its exit status,
        stdout and stderr."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout) as s:
                s.sendall(QUIT_MAGIC)
                s.shutdown(socket.SHUT_WR)
                s.settimeout(self.timeout)
                try:
                    while s.recv(4096):
                        pass
                except OSError:
                    pass
            out, err = self.proc.communicate(timeout=self.timeout)
        finally:
            self.kill()
        return self.proc.returncode, out, err

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()
