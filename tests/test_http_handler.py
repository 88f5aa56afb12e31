"""End to end: backported wasi:http as a request handler. A C guest written against
wit-bindgen's C API for world wasi:http/proxy (`--emit c-p2`; the export
`wasi_http_incoming_handler#handle`) is built as a reactor with zig and served by
`wit2witx run --host wasi-http --serve 127.0.0.1:0`; the tests talk to it with the
standard library's `http.client`. The guest echoes method, path, headers (as
`x-echo-NAME`) and body (streamed back chunked, with an `x-length` trailer).
"""

from __future__ import annotations

import http.client
import random
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from test_http_client import HTTP_SRC, MIB, build_guest

wasmtime = pytest.importorskip("wasmtime")

pytestmark = [pytest.mark.slow]

RUN = [sys.executable, "-m", "wit2witx", "run"]


@pytest.fixture(scope="session")
def handler_guest(tmp_path_factory) -> Path:
    return build_guest(tmp_path_factory.mktemp("http_handler"), HTTP_SRC / "handler_guest.c",
                       "wasi:http/proxy", "proxy.c", "-mexec-model=reactor")


class Served:
    """`wit2witx run GUEST --host wasi-http --serve 127.0.0.1:0` in a child process."""

    def __init__(self, wasm: Path, *extra: str) -> None:
        self.proc = subprocess.Popen([*RUN, str(wasm), "--host", "wasi-http", *extra,
                                      "--serve", "127.0.0.1:0"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stderr.readline()
        assert line.startswith("serving http://127.0.0.1:"), line + self.proc.stderr.read()
        self.port = int(line.rsplit(":", 1)[1])

    def __enter__(self) -> "Served":
        return self

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.wait(30)

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)


def payload(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def check_echo(resp: http.client.HTTPResponse, method: str, path: str,
               headers: dict[str, str], body: bytes) -> None:
    data = resp.read()
    assert resp.status == 200, data[:200]
    assert resp.getheader("x-method") == method
    assert resp.getheader("x-path") == path
    for name, value in headers.items():
        assert resp.getheader(f"x-echo-{name}") == value, name
    assert resp.getheader("Transfer-Encoding") == "chunked"  # written after `set`
    assert len(data) == len(body) and data == body


def exchange(conn: http.client.HTTPConnection, i: int, size: int) -> None:
    body = payload(size, i)
    headers = {"X-Request": str(i), "Content-Type": "application/octet-stream"}
    path = f"/echo/{i}?size={size}"
    if i % 2:  # chunked request bodies too
        conn.putrequest("PUT", path)
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        for off in range(0, size, 100_000):
            part = body[off:off + 100_000]
            conn.send(b"%x\r\n%s\r\n" % (len(part), part))
        conn.send(b"0\r\n\r\n")
        method = "PUT"
    else:
        conn.request("POST", path, body=body, headers=headers)
        method = "POST"
    check_echo(conn.getresponse(), method, path, headers, body)


def sizes(n: int, seed: int) -> list[int]:
    r = random.Random(seed)
    return [0, 1, MIB] + [int(MIB * r.random() ** 3) for _ in range(n - 3)]


def test_http_serve_200_sequential(handler_guest):
    with Served(handler_guest) as served:
        conn = served.connect()  # one keep-alive connection for all of them
        for i, size in enumerate(sizes(200, 1)):
            exchange(conn, i, size)
        conn.close()
        assert served.proc.poll() is None


def test_http_serve_20_concurrent(handler_guest):
    errors: list[BaseException] = []

    def one(i: int, size: int) -> None:
        try:
            conn = served.connect()
            exchange(conn, i, size)
            conn.close()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    with Served(handler_guest) as served:
        threads = [threading.Thread(target=one, args=(i, size))
                   for i, size in enumerate(sizes(20, 2))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        assert not any(t.is_alive() for t in threads)
    assert errors == []


def test_http_serve_trailers_and_get(handler_guest):
    """The echo's trailer arrives (read raw: http.client skips trailers); a GET has an
    empty body."""
    from wit2witx.hosts.http import IncomingBody, read_chunked

    with Served(handler_guest) as served, socket.create_connection(("127.0.0.1", served.port)) as s:
        s.sendall(b"POST /t HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
        resp = http.client.HTTPResponse(s)
        resp.begin()
        assert resp.status == 200 and resp.getheader("Transfer-Encoding") == "chunked"
        body = IncomingBody(limit=1 << 30)
        trailers = read_chunked(resp.fp, body)
        assert b"".join(body.chunks) == b"hello"
        assert trailers.entries == [(b"x-length", b"5")]
        conn = served.connect()
        conn.request("GET", "/plain")
        check_echo(conn.getresponse(), "GET", "/plain", {"Host": f"127.0.0.1:{served.port}"}, b"")


def test_http_serve_hello_content_length(handler_guest):
    with Served(handler_guest) as served:
        conn = served.connect()
        conn.request("GET", "/hello")
        resp = conn.getresponse()
        assert (resp.status, resp.read()) == (200, b"hello, world")
        # finished before `set`: the head carries the length, no chunking
        assert resp.getheader("Content-Length") == "12"
        assert resp.getheader("content-type") == "text/plain"


@pytest.mark.parametrize("path, reason", [
    ("/trap", "the guest trapped"),
    ("/noset", "the guest set no response"),
    ("/error", "the guest set an error"),
])
def test_http_serve_failure_is_500_for_that_path_only(handler_guest, path, reason):
    with Served(handler_guest) as served:
        for _ in range(2):
            conn = served.connect()
            conn.request("GET", path)
            resp = conn.getresponse()
            text = resp.read().decode()
            assert resp.status == 500
            assert reason in text
            conn.request("GET", "/hello")  # the same connection, the next request: fine
            resp = conn.getresponse()
            assert (resp.status, resp.read()) == (200, b"hello, world")
            exchange(served.connect(), 7, 1000)
        assert served.proc.poll() is None


def test_http_serve_refuses_a_guest_without_the_export(tmp_path):
    from test_http_client import HTTP_SRC as src, build_guest as build

    wasm = build(tmp_path, src / "client_guest.c", "wasi:http/imports", "imports.c")
    proc = subprocess.run([*RUN, str(wasm), "--host", "wasi-http", "--serve", "127.0.0.1:0"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "exports no `wasi_http_incoming_handler#handle`" in proc.stderr


@pytest.mark.parametrize("args, message", [
    (["--serve", "127.0.0.1:0"], "--serve needs --host wasi-http"),
    (["--host", "wasi-http", "--serve", "nope"], "--serve takes HOST:PORT"),
])
def test_http_serve_usage(tmp_path, args, message):
    proc = subprocess.run([*RUN, str(tmp_path / "none.wasm"), *args],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and message in proc.stderr
