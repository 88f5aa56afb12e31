"""End to end: backported wasi:http as a client. A C guest written against wit-bindgen's
C API for world wasi:http/imports (`--emit c-p2`, generated from the corpus' WASI WIT)
is built with zig for wasm32-wasi (P1) and run by `wit2witx run --host wasi-http`
against an HTTP server each test starts on 127.0.0.1 (the standard library's
`http.server`). The guest prints what it saw; each test compares that with what its
server received and sent.
"""

from __future__ import annotations

import http.server
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import CORPUS, FIXTURES, corpus_path, zig_cc

wasmtime = pytest.importorskip("wasmtime")

pytestmark = [pytest.mark.slow]

HTTP_SRC = FIXTURES / "guests" / "http"
RUN = [sys.executable, "-m", "wit2witx", "run"]
MIB = 1 << 20
TIMEOUT = 120


# --- building guests ----------------------------------------------------------------------


def generate_world(out: Path, world: str) -> dict[str, str]:
    """The c-p2 API of a wasi:http world, from the corpus, written into `out`."""
    corpus_path("wasi-p2", "http")
    from wit2witx.hosts.regen import compile_world

    out.mkdir(parents=True, exist_ok=True)
    files = compile_world(CORPUS, "http", world, "c-p2")
    for name, text in files.items():
        (out / name).write_text(text)
    return files


def build_guest(out: Path, source: Path, world: str, shim: str, *extra: str) -> Path:
    generate_world(out, world)
    wasm = out / (source.stem + ".wasm")
    proc = zig_cc("--target=wasm32-wasi", "-O2", "-std=c11", "-Wall", "-Wextra", "-Werror",
                  *extra, f"-I{out}", "-o", str(wasm), str(source), str(out / shim))
    assert proc.returncode == 0, proc.stderr
    return wasm


@pytest.fixture(scope="session")
def client_guest(tmp_path_factory) -> Path:
    return build_guest(tmp_path_factory.mktemp("http_client"), HTTP_SRC / "client_guest.c",
                       "wasi:http/imports", "imports.c")


def run_client(wasm: Path, *args: str, extra: tuple[str, ...] = (), timeout: float = TIMEOUT):
    return subprocess.run([*RUN, str(wasm), "--host", "wasi-http", *extra, "--", *args],
                          capture_output=True, text=True, timeout=timeout)


# --- the server the tests start -------------------------------------------------------------


def pattern(n: int) -> bytes:
    """The guest's POST body: byte i is (i * 7 + 3) & 255."""
    return bytes(((i * 7 + 3) & 255) for i in range(n))


class Recorder(http.server.BaseHTTPRequestHandler):
    """Serves the paths the tests use and records every request it read."""

    protocol_version = "HTTP/1.1"
    server: "Server"

    def log_message(self, *args) -> None:
        pass

    def _read_body(self) -> tuple[bytes, list[tuple[str, str]]]:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            from wit2witx.hosts.http import IncomingBody, read_chunked

            body = IncomingBody(limit=1 << 30)
            trailers = read_chunked(self.rfile, body)
            data = b"".join(body.chunks)
            return data, [(n.decode(), v.decode()) for n, v in trailers.entries]
        return self.rfile.read(int(self.headers.get("Content-Length", "0"))), []

    def _answer(self, status: int, body: bytes, headers: list[tuple[str, str]] = ()) -> None:
        self.send_response_only(status)
        for name, value in [("Content-Length", str(len(body))), *headers]:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        self.server.sent.append((status, [("Content-Length", str(len(body))), *headers], body))

    def do_GET(self) -> None:
        self.server.seen.append((self.command, self.path, list(self.headers.items()), b"", []))
        if self.path == "/slow":
            self.server.release.wait(30)
            self.close_connection = True
            return
        if self.path in ("/stall", "/cut"):  # half the announced body, then stall or close
            self.send_response_only(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.write(b"x" * 50)
            self.wfile.flush()
            self.close_connection = True
            if self.path == "/stall":
                self.server.release.wait(30)
            return
        if self.path == "/chunked":
            self.send_response_only(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            parts = [bytes([i + 1]) * (1000 * (i + 1)) for i in range(5)]
            for part in parts:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\nX-Checksum: %d\r\n\r\n" % sum(map(sum, parts)))
            self.server.sent.append((200, [("Transfer-Encoding", "chunked")], b"".join(parts)))
            return
        if self.path == "/missing":
            self._answer(404, b"no such page", [("X-Why", "missing")])
            return
        self._answer(200, f"hello {self.headers.get('x-test')}".encode(), [("X-Reply", "yes")])

    def do_POST(self) -> None:
        data, trailers = self._read_body()
        self.server.seen.append((self.command, self.path, list(self.headers.items()), data, trailers))
        self._answer(200, b"got %d" % len(data))


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Recorder)
        self.seen: list = []
        self.sent: list = []
        self.release = threading.Event()
        self.port = self.server_address[1]
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    def __enter__(self) -> "Server":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.shutdown()
        self.server_close()
        self.thread.join(10)


def expected_head(status: int, headers: list[tuple[str, str]]) -> list[str]:
    return [f"status {status}", *(f"header {n}: {v}" for n, v in headers),
            "response-headers immutable"]


def lines_of(proc: subprocess.CompletedProcess) -> list[str]:
    assert proc.stderr == "" or "warning" not in proc.stderr, proc.stderr
    return proc.stdout.splitlines()


def response_headers(lines: list[str]) -> list[tuple[str, str]]:
    out = []
    for line in lines:
        if line.startswith("header "):
            name, _, value = line[len("header "):].partition(": ")
            out.append((name, value))
    return out


def body_line(data: bytes, text: bool = True) -> str:
    line = f"body {len(data)} {sum(data)}"
    return line + (f" {data.decode()}" if text else " ")


# --- tests ------------------------------------------------------------------------------------


def test_http_get_with_headers(client_guest):
    with Server() as server:
        proc = run_client(client_guest, "get", str(server.port), "/hello?q=1",
                          "x-test=abc", "Accept=text/plain")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (method, path, headers, _, _), = server.seen
    assert (method, path) == ("GET", "/hello?q=1")
    assert ("x-test", "abc") in headers and ("Accept", "text/plain") in headers
    assert ("Host", f"127.0.0.1:{server.port}") in headers
    status, sent_headers, body = server.sent[0]
    lines = lines_of(proc)
    got = response_headers(lines)
    assert got == sent_headers  # every header the server wrote, in order, spelled so
    assert lines[0] == f"status {status}" == "status 200"
    assert lines[-2:] == [body_line(body), "trailers none"]
    assert body == b"hello abc"


def test_http_404_is_a_response(client_guest):
    with Server() as server:
        proc = run_client(client_guest, "get", str(server.port), "/missing")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = lines_of(proc)
    assert lines[0] == "status 404"
    assert ("X-Why", "missing") in response_headers(lines)
    assert lines[-2:] == [body_line(b"no such page"), "trailers none"]


def test_http_chunked_response_with_trailers(client_guest):
    with Server() as server:
        proc = run_client(client_guest, "get", str(server.port), "/chunked")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    _, _, body = server.sent[0]
    lines = lines_of(proc)
    assert ("Transfer-Encoding", "chunked") in response_headers(lines)
    assert f"body {len(body)} {sum(body)} " + body.decode() in lines
    assert lines[-1] == f"trailer X-Checksum: {sum(body)}"
    assert len(body) == 15000


@pytest.mark.parametrize("trailer", [False, True], ids=["no-trailer", "trailer"])
def test_http_post_one_mib_streamed(client_guest, trailer):
    args = ["post", None, "/upload", str(MIB), "65536"] + (["t"] if trailer else [])
    with Server() as server:
        args[1] = str(server.port)
        proc = run_client(client_guest, *args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (method, path, headers, data, trailers), = server.seen
    assert (method, path) == ("POST", "/upload")
    # written after `handle`: the body goes out chunked, with the guest's trailer
    assert ("Transfer-Encoding", "chunked") in headers
    assert ("content-type", "application/octet-stream") in headers
    assert data == pattern(MIB)
    assert trailers == ([("x-sent", "done")] if trailer else [])
    lines = lines_of(proc)
    assert lines[0] == "status 200"
    assert lines[-2:] == [body_line(b"got %d" % MIB), "trailers none"]


def test_http_connection_refused(client_guest):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: connecting is refused
        proc = run_client(client_guest, "get", str(port), "/")
    assert proc.stdout.splitlines() == ["error connection-refused"], proc.stderr
    assert proc.returncode == 1


def test_http_first_byte_timeout(client_guest):
    with Server() as server:
        start = time.monotonic()
        proc = run_client(client_guest, "timeout", str(server.port), "300")
        took = time.monotonic() - start
    assert proc.stdout.splitlines() == ["error connection-read-timeout"], proc.stderr
    assert [p for _, p, *_ in server.seen] == ["/slow"]
    assert took < 25  # the server holds the answer for 30 s


def test_http_fields_forbidden_and_invalid(client_guest):
    proc = run_client(client_guest, "fields")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines() == [
        "header-error forbidden",        # connection: the host frames messages
        "header-error invalid-syntax",   # a space in a name
        "header-error invalid-syntax",   # a line feed in a value
        "get 2 1 2",                     # names compare without case
        "append Host forbidden",
        "append held immutable",         # a request holds its headers
        "append own ok",                 # the fields it was cloned from stay mutable
    ]


def test_http_between_bytes_timeout(client_guest):
    """The head and half the body arrive, then nothing: the body stream fails with an io
    error that `http-error-code` maps to connection-read-timeout; the trailers too."""
    with Server() as server:
        proc = run_client(client_guest, "timeout", str(server.port), "300", "between")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = lines_of(proc)
    assert lines[0] == "status 200"
    assert lines[-3:] == ["body-error connection-read-timeout", body_line(b"x" * 50),
                          "trailers-error connection-read-timeout"]


def test_http_body_cut_short(client_guest):
    with Server() as server:
        proc = run_client(client_guest, "get", str(server.port), "/cut")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert lines_of(proc)[-3:] == ["body-error HTTP-response-incomplete", body_line(b"x" * 50),
                                   "trailers-error HTTP-response-incomplete"]


@pytest.mark.parametrize("authority, error", [
    ("192.0.2.1:80", "destination-IP-prohibited"),   # TEST-NET-1: never routed
    ("example.invalid:80", "HTTP-request-denied"),   # a name: DNS is not asked
    ("localhost:1", "connection-refused"),           # localhost is looked up
])
def test_http_network_policy(client_guest, authority, error):
    """Loopback only without --allow-network: other destinations are refused before
    any packet leaves."""
    proc = run_client(client_guest, "get", authority, "/")
    assert proc.stdout.splitlines() == [f"error {error}"], proc.stderr
    assert proc.returncode == 1


def test_http_allow_network_lets_names_resolve(client_guest):
    """With --allow-network a name is looked up: `.invalid` never resolves (RFC 6761)."""
    proc = run_client(client_guest, "get", "example.invalid:80", "/", extra=("--allow-network",))
    assert proc.stdout.splitlines() in (["error destination-not-found"], ["error DNS-timeout"]), proc.stderr
