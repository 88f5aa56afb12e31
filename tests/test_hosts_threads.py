"""Thread safety of the Python reference hosts beyond the glue's handle tables (issue 18;
the table is tests/test_threads_py.py): what the cli and http hosts share between
threads — the guest's thread, an HTTP request's worker and body reader, the requests
`--serve` runs at once — and the glue loaded once, whole.

Each test drives the race through the host's own objects and checks an outcome the
unlocked code could get wrong: interleaved stdout bytes, a trailers future answering
"no error" for a body that failed, a request sent after the guest cancelled it, a type
missing from a half-loaded glue.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from wit2witx.hosts import cli, http
from wit2witx.hosts.runtime import Err, Ok

BLOCK = 1 << 16  # bigger than PIPE_BUF: the kernel may let another writer in between


def test_stdout_writes_of_concurrent_hosts_stay_whole() -> None:
    """Hosts of concurrent requests share descriptor 1: each write a guest makes comes out
    in one piece, whatever the others write meanwhile."""
    read_end, write_end = os.pipe()
    writers, rounds = 6, 40
    got = bytearray()

    def drain() -> None:  # slowly: the pipe is full and writers wait halfway through a write
        while chunk := os.read(read_end, 4096):
            got.extend(chunk)

    def write(letter: bytes) -> None:
        out = cli.StdioOutput(write_end)  # one host each, one descriptor for all
        for _ in range(rounds):
            out.write_all(letter * BLOCK)

    reader = threading.Thread(target=drain)
    reader.start()
    threads = [threading.Thread(target=write, args=(bytes([65 + i]),)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    os.close(write_end)
    reader.join()
    os.close(read_end)
    assert len(got) == writers * rounds * BLOCK
    blocks = [bytes(got[i:i + BLOCK]) for i in range(0, len(got), BLOCK)]
    torn = [i for i, b in enumerate(blocks) if b != b[:1] * BLOCK]
    assert torn == [], f"{len(torn)} writes interleaved with others"


class _PreemptedBody(http.IncomingBody):
    """A body whose producer is preempted before each store of its outcome (as a thread
    switch may do between any two of them)."""

    def __setattr__(self, name: str, value: object) -> None:
        if name in ("done", "error", "trailers") and "done" in self.__dict__:
            time.sleep(0.002)
        super().__setattr__(name, value)


def test_trailers_future_never_sees_a_failed_body_half_ended() -> None:
    """The body reader thread ends a request body with an error while the guest polls
    `future-trailers.get` and the body's pollable: once either says ready, the answer is
    that error, never "no error, no trailers"."""
    host = http.HttpHost()
    failure = http.code("connection_terminated")
    wrong = []
    for _ in range(20):
        body = _PreemptedBody()
        future = http.FutureTrailers(body)
        producer = threading.Thread(target=body.end, kwargs={"error": failure})
        producer.start()
        while not body.ready():
            pass
        got = host.future_trailers_get(future, result_capacity=0)
        producer.join()
        if got != Ok(Err(failure)):
            wrong.append(got)
    assert wrong == []


class _Listener:
    """A loopback listener that records whether any connection brought a byte."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]

    def received(self) -> tuple[int, int]:
        """(connections, bytes) that came."""
        total = connections = 0
        while True:
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, socket.timeout):
                return connections, total
            connections += 1
            with conn:
                conn.settimeout(0.5)
                try:
                    while data := conn.recv(4096):
                        total += len(data)
                except (TimeoutError, socket.timeout, ConnectionError):
                    pass


def test_cancel_before_connect_stops_the_request(monkeypatch) -> None:
    """The guest drops the response future after the worker made its socket but before
    connect(2) (a shutdown then finds nothing to stop; on Linux it marks the socket, on
    other systems not even that): the worker sees the cancel once connected, before it
    sends a byte, and ends with it."""
    http.HttpHost()  # loads the glue's types
    listener = _Listener()
    t = http._types()
    request = http.OutgoingRequest(http.Fields())
    request.authority = f"127.0.0.1:{listener.port}"
    request.path = "/"
    request.scheme = t.Scheme.HTTP()
    exchange = http.Exchange(request, None, allow_network=False)

    class CancelledWhileConnecting(socket.socket):
        def connect(self, address) -> None:  # the guest's cancel lands right here
            exchange.cancel()
            super().connect(address)

    monkeypatch.setattr(http.socket, "socket", CancelledWhileConnecting)
    exchange.start()
    exchange.thread.join(10)
    assert not exchange.thread.is_alive()
    assert exchange.result == Err(http.code("internal_error", "cancelled"))
    connections, received = listener.received()
    assert connections <= 1 and received == 0
    listener.sock.close()


RACE_LOAD = r"""
import sys, threading
from wit2witx.hosts import sockets
barrier = threading.Barrier(8)
missing = []
def use():
    barrier.wait()
    t = sockets._types()
    for name in ("ErrorCode", "ErrorCodeError", "IpSocketAddress", "StreamErrorError", "IpAddressFamily"):
        if not hasattr(t, name):
            missing.append(name)
threads = [threading.Thread(target=use) for _ in range(8)]
[x.start() for x in threads]
[x.join() for x in threads]
print("missing", len(missing))
"""


@pytest.mark.parametrize("attempt", range(3))
def test_glue_types_load_whole_under_racing_threads(attempt) -> None:
    """8 threads of a fresh process ask for the generated types at once: none sees them
    half loaded."""
    proc = subprocess.run([sys.executable, "-c", RACE_LOAD], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["missing", "0"]
