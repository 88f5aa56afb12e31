"""End to end: backported wasi:sockets in wasmtime with the generated Python glue and
the reference host (`wit2witx.hosts`), driven by a real C guest built with zig from the
generated C headers, against real sockets on 127.0.0.1.

`pytest -k sockets` selects these. Every guest runs through `wit2witx run` in a child
process with a timeout; every server the test starts is bounded by socket timeouts.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from conftest import CORPUS, FIXTURES, corpus_path, run_wasm_tools, zig_cc

wasmtime = pytest.importorskip("wasmtime")

pytestmark = [pytest.mark.sockets, pytest.mark.slow]

GUEST_SRC = FIXTURES / "guests" / "sockets"
RUN = [sys.executable, "-m", "wit2witx", "run"]
MIB = 1 << 20
TIMEOUT = 120


# --- building the guest ----------------------------------------------------------------


def build_sockets_guest(out: Path, source: Path) -> Path:
    """A C guest compiled with zig against the headers generated from the corpus' WASI
    WIT (into `out`)."""
    corpus_path("wasi-p2", "sockets")
    from wit2witx.hosts.regen import compile_sockets

    for name, text in compile_sockets(CORPUS, ["c"]).items():
        (out / name).write_text(text)
    wasm = out / (source.stem + ".wasm")
    proc = zig_cc("--target=wasm32-wasi", "-O2", "-Wall", "-Wextra", "-Werror",
                  f"-I{out}", "-o", str(wasm), str(source))
    assert proc.returncode == 0, proc.stderr
    return wasm


@pytest.fixture(scope="session")
def sockets_guest(tmp_path_factory) -> Path:
    return build_sockets_guest(tmp_path_factory.mktemp("sockets_guest"),
                               GUEST_SRC / "sockets_guest.c")


def run_guest(wasm: Path, *args: str, timeout: float = TIMEOUT, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([*RUN, str(wasm), "--host", "wasi-sockets", "--", *args],
                          capture_output=True, text=True, timeout=timeout, **kw)


# --- servers the tests start ----------------------------------------------------------------


class Server:
    """A one-connection TCP server on 127.0.0.1 in a thread; `handler(conn)` serves it."""

    def __init__(self, handler) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(TIMEOUT)
        self.port = self.sock.getsockname()[1]
        self.handler = handler
        self.error: BaseException | None = None
        self.received = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            conn, _ = self.sock.accept()
            with conn:
                conn.settimeout(TIMEOUT)
                self.handler(self, conn)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc

    def __enter__(self) -> "Server":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.sock.close()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive(), "server thread did not stop"


def echo_handler(server: Server, conn: socket.socket) -> None:
    while True:
        data = conn.recv(65536)
        if not data:
            return
        server.received += len(data)
        conn.sendall(data)


def close_at_once(server: Server, conn: socket.socket) -> None:
    conn.shutdown(socket.SHUT_RDWR)


def free_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the guest against real sockets -------------------------------------------------------


def test_sockets_echo_one_mib(sockets_guest):
    with Server(echo_handler) as server:
        proc = run_guest(sockets_guest, "echo", str(server.port), str(MIB), "4096")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["ok", str(MIB)]
    assert server.error is None
    assert server.received == MIB


def test_sockets_echo_odd_chunks(sockets_guest):
    total = 300_007
    with Server(echo_handler) as server:
        proc = run_guest(sockets_guest, "echo", str(server.port), str(total), "1237")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["ok", str(total)]


def test_sockets_guest_listens_and_accepts(sockets_guest):
    proc = subprocess.Popen([*RUN, str(sockets_guest), "--host", "wasi-sockets", "--", "serve"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("port "), (line, proc.stderr.read() if proc.poll() is not None else "")
        port = int(line.split()[1])
        assert 0 < port < 65536
        payload = os.urandom(200_000)
        back = bytearray()
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as conn:
            sender = threading.Thread(target=lambda: (conn.sendall(payload), conn.shutdown(socket.SHUT_WR)))
            sender.start()
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                back += data
            sender.join(timeout=TIMEOUT)
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert bytes(back) == payload
    assert proc.returncode == 0, err
    assert out.split() == ["served", str(len(payload))]


def test_sockets_connection_refused(sockets_guest):
    proc = run_guest(sockets_guest, "refused", str(free_port()))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "refused"


def test_sockets_read_after_peer_closed_gives_closed(sockets_guest):
    with Server(close_at_once) as server:
        proc = run_guest(sockets_guest, "closed", str(server.port))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "closed"


def test_sockets_guest_without_the_host_fails_cleanly(sockets_guest):
    proc = subprocess.run([*RUN, str(sockets_guest), "--", "refused", "1"],
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 1
    assert "wasi_sockets" in proc.stderr and "Traceback" not in proc.stderr


# --- wit2witx run -------------------------------------------------------------------------


def _wat_module(tmp_path: Path, wat: str, name: str) -> Path:
    src, out = tmp_path / f"{name}.wat", tmp_path / f"{name}.wasm"
    src.write_text(wat)
    proc = run_wasm_tools("parse", str(src), "-o", str(out))
    assert proc.returncode == 0, proc.stderr.decode()
    return out


def test_sockets_run_cli_statuses(tmp_path):
    trap = _wat_module(tmp_path, '(module (memory (export "memory") 1) (func (export "_start") unreachable))', "trap")
    proc = subprocess.run([*RUN, str(trap)], capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 134 and "trapped" in proc.stderr
    exit7 = _wat_module(tmp_path, '''(module
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (func (export "_start") i32.const 7 call $exit))''', "exit7")
    proc = subprocess.run([*RUN, str(exit7), "--host", "wasi-sockets"], capture_output=True,
                          text=True, timeout=TIMEOUT)
    assert proc.returncode == 7, proc.stderr
    proc = subprocess.run([*RUN, str(exit7), "--host", "nope"], capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 2 and "unknown --host" in proc.stderr
    proc = subprocess.run([*RUN, str(tmp_path / "missing.wasm")], capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 1 and "cannot load" in proc.stderr


# --- hostile guests against the shipped glue, in process -------------------------------------


def _glue():
    from wit2witx import hosts

    return hosts.load_glue()


def _hostile_wat(specs) -> str:
    lines = ["(module"]
    for i, spec in enumerate(specs):
        ps, rs = " ".join(spec.core_params), " ".join(spec.core_results)
        lines.append(f'  (import "{spec.module}" "{spec.name}" (func $f{i}'
                     + (f" (param {ps})" if ps else "") + (f" (result {rs})" if rs else "") + "))")
    lines.append('  (memory (export "memory") 1)')
    for i, spec in enumerate(specs):
        ps, rs = " ".join(spec.core_params), " ".join(spec.core_results)
        gets = " ".join(f"local.get {k}" for k in range(len(spec.core_params)))
        lines.append(f'  (func (export "{spec.module}.{spec.name}")' + (f" (param {ps})" if ps else "")
                     + (f" (result {rs})" if rs else "") + f" {gets} call $f{i})")
    lines.append(")")
    return "\n".join(lines)


class Hostile:
    """A guest re-exporting every sockets import as a wasm function (so each call has a
    real wasm caller with its memory), assembled by `wasm-tools parse`."""

    def __init__(self, tmp_path: Path) -> None:
        from wit2witx import hosts

        self.glue = _glue()
        specs = [s for m in self.glue.values() for s in m.SPECS]
        wasm = _wat_module(tmp_path, _hostile_wat(specs), "hostile")
        self.engine = wasmtime.Engine()
        self.store = wasmtime.Store(self.engine)
        linker = wasmtime.Linker(self.engine)
        self.host, self.tables = hosts.add_sockets_to_linker(linker, self.store)
        self.instance = linker.instantiate(self.store, wasmtime.Module.from_file(self.engine, str(wasm)))
        self.exports = self.instance.exports(self.store)
        self.memory = self.exports["memory"]

    def call(self, module: str, name: str, *args: int) -> int:
        return self.exports[f"{module}.{name}"](self.store, *args)

    def u32(self, addr: int) -> int:
        return int.from_bytes(bytes(self.memory.read(self.store, addr, addr + 4)), "little")

    def write(self, addr: int, data: bytes) -> None:
        self.memory.write(self.store, bytearray(data), addr)

    def status(self, module: str, enum: str, case: str) -> int:
        return int(getattr(getattr(self.glue[module], enum), case))


@pytest.fixture
def hostile(tmp_path):
    corpus_path("wasi-p2", "sockets")
    return Hostile(tmp_path)


NET, TCP, CREATE, STREAMS, POLL, LOOKUP = (
    "wasi_sockets_network", "wasi_sockets_tcp", "wasi_sockets_tcp_create_socket",
    "wasi_io_streams", "wasi_io_poll", "wasi_sockets_ip_name_lookup")
PAGE = 65536


def test_sockets_hostile_guests_get_statuses_and_the_host_survives(hostile):
    h = hostile
    ec = lambda case: h.status(NET, "ErrorCodeStatus", case)  # noqa: E731
    tcp_st = lambda case: h.status(TCP, "TcpStatus", case)  # noqa: E731
    assert h.call("wasi_sockets_instance_network", "instance_network", 16) == 0
    net = h.u32(16)
    # create-tcp-socket: a bad address family, an out-of-bounds / wrapping out-pointer
    assert h.call(CREATE, "create_tcp_socket", 7, 20) == ec("BAD_VALUE")
    assert h.call(CREATE, "create_tcp_socket", 0, PAGE - 2) == ec("BAD_POINTER")
    assert h.call(CREATE, "create_tcp_socket", 0, -1) == ec("BAD_POINTER")
    assert h.call(CREATE, "create_tcp_socket", 0, 20) == 0
    sock = h.u32(20)
    # start-connect: forged handles, an address record off the end of memory, a bad tag
    for forged in (0, sock + 1, sock ^ (1 << 20), net):  # `net` is a handle of another type
        assert h.call(TCP, "tcp_socket_start_connect", forged, net, 64) == ec("BAD_HANDLE")
    assert h.call(TCP, "tcp_socket_start_connect", sock, sock, 64) == ec("BAD_HANDLE")
    assert h.call(TCP, "tcp_socket_start_connect", sock, net, PAGE - 8) == ec("BAD_POINTER")
    assert h.call(TCP, "tcp_socket_start_connect", sock, net, -4) == ec("BAD_POINTER")
    h.write(64, b"\x09" + b"\x00" * 31)  # ip-socket-address tag 9
    assert h.call(TCP, "tcp_socket_start_connect", sock, net, 64) == ec("BAD_VALUE")
    # real errors from the implementation: port 0 is invalid-argument, and only loopback
    # addresses may be reached (ip-socket-address: tag, 3 bytes padding, port, address)
    h.write(64, b"\x00" * 4 + (0).to_bytes(2, "little") + bytes([127, 0, 0, 1]) + b"\x00" * 22)
    assert h.call(TCP, "tcp_socket_start_connect", sock, net, 64) == ec("INVALID_ARGUMENT")
    h.write(64, b"\x00" * 4 + (80).to_bytes(2, "little") + bytes([192, 0, 2, 1]) + b"\x00" * 22)
    assert h.call(TCP, "tcp_socket_start_connect", sock, net, 64) == ec("ACCESS_DENIED")
    # the generic status of a method without a WIT error: forged handle, bad out-pointer
    assert h.call(TCP, "tcp_socket_subscribe", 12345, 24) == tcp_st("BAD_HANDLE")
    assert h.call(TCP, "tcp_socket_subscribe", sock, PAGE) == tcp_st("BAD_POINTER")
    # drop, then every use of the handle is refused
    assert h.call(TCP, "tcp_socket_drop", sock) == 0
    assert h.call(TCP, "tcp_socket_drop", sock) == tcp_st("BAD_HANDLE")
    assert h.call(TCP, "tcp_socket_finish_connect", sock, 24, 28) == ec("BAD_HANDLE")
    assert h.tables.live == 1  # only the network is left
    # the host still works
    assert h.call(CREATE, "create_tcp_socket", 0, 20) == 0
    assert h.call(TCP, "tcp_socket_drop", h.u32(20)) == 0


def test_sockets_hostile_stream_buffers(hostile):
    h = hostile
    se = lambda case: h.status(STREAMS, "StreamErrorStatus", case)  # noqa: E731
    a, b = socket.socketpair()
    a.setblocking(False)
    try:
        from wit2witx.hosts.sockets import Connection, InputStream, OutputStream

        conn = Connection(a)
        inp = h.tables.insert(f"{STREAMS}.input_stream", InputStream(conn))
        out = h.tables.insert(f"{STREAMS}.output_stream", OutputStream(conn))
        conn.release()
        b.sendall(b"hello")
        # read(self, len, buf, buf_len, buf_used, error_payload, retptr)
        assert h.call(STREAMS, "input_stream_read", inp, 5, PAGE - 2, 8, 100, 200, 300) == se("BAD_POINTER")
        assert h.call(STREAMS, "input_stream_read", inp, 5, -4, 8, 100, 200, 300) == se("BAD_POINTER")
        assert h.call(STREAMS, "input_stream_read", inp, 5, 1000, 8, 102, 200, 300) == se("BAD_POINTER")
        assert h.call(STREAMS, "input_stream_read", out, 5, 1000, 8, 100, 200, 300) == se("BAD_HANDLE")
        # nothing was consumed by the refused calls
        assert h.call(STREAMS, "input_stream_read", inp, 5, 1000, 8, 100, 200, 300) == 0
        assert h.u32(100) == 5 and (h.u32(300), h.u32(304)) == (1000, 5)
        assert bytes(h.memory.read(h.store, 1000, 1005)) == b"hello"
        # write(self, contents, contents_len, error_payload): wrapping ptr + len
        assert h.call(STREAMS, "output_stream_write", out, -16, 32, 200) == se("BAD_POINTER")
        assert h.call(STREAMS, "output_stream_write", out, PAGE - 3, 4, 200) == se("BAD_POINTER")
        h.write(2000, b"world")
        assert h.call(STREAMS, "output_stream_write", out, 2000, 5, 200) == 0
        assert h.call(STREAMS, "output_stream_blocking_flush", out, 200) == 0
        b.settimeout(10)
        assert b.recv(5) == b"world"
        # the peer closes: read gives `closed` with the payload tag written
        b.close()
        h.write(200, b"\xEE" * 8)
        assert h.call(STREAMS, "input_stream_blocking_read", inp, 5, 1000, 8, 100, 200, 300) == se("CLOSED")
        assert bytes(h.memory.read(h.store, 200, 201)) == b"\x01"  # stream-error.closed
    finally:
        a.close()
        b.close()


def test_sockets_hostile_poll_and_lookup(hostile):
    h = hostile
    ps = lambda case: h.status(POLL, "PollStatus", case)  # noqa: E731
    ec = lambda case: h.status(NET, "ErrorCodeStatus", case)  # noqa: E731
    assert h.call("wasi_clocks_monotonic_clock", "subscribe_duration", 0, 16) == 0
    p = h.u32(16)
    h.write(64, p.to_bytes(4, "little") + (p ^ 0x100000).to_bytes(4, "little"))
    # poll(in, in_len, buf, buf_len, buf_used, retptr): one forged handle in the list
    assert h.call(POLL, "poll", 64, 2, 200, 64, 100, 300) == ps("BAD_HANDLE")
    assert h.call(POLL, "poll", 66, 1, 200, 64, 100, 300) == ps("BAD_POINTER")  # misaligned
    assert h.call(POLL, "poll", 64, 0x40000001, 200, 64, 100, 300) == ps("BAD_POINTER")
    assert h.call(POLL, "poll", 64, 1, 200, 3, 100, 300) == ps("BUFFER_TOO_SMALL")
    assert h.u32(100) == 4
    assert h.call(POLL, "poll", 64, 1, 200, 64, 100, 300) == 0
    assert (h.u32(300), h.u32(304), h.u32(200)) == (200, 1, 0)
    assert h.call("wasi_sockets_instance_network", "instance_network", 20) == 0
    net = h.u32(20)
    # resolve-addresses(network, name, name_len, retptr): a numeric host, at once
    h.write(400, b"127.0.0.1")
    assert h.call(LOOKUP, "resolve_addresses", net, 400, 9, 24) == 0
    stream = h.u32(24)
    assert h.call(LOOKUP, "resolve_address_stream_resolve_next_address", stream, 32) == 0
    assert bytes(h.memory.read(h.store, 32, 33)) == b"\x01"  # some
    assert h.call(LOOKUP, "resolve_address_stream_resolve_next_address", stream, 32) == 0
    assert bytes(h.memory.read(h.store, 32, 33)) == b"\x00"  # none
    h.write(400, b"\xff\xfe")  # not UTF-8: the glue refuses it, the host never sees it
    assert h.call(LOOKUP, "resolve_addresses", net, 400, 2, 24) == ec("BAD_VALUE")
    h.write(400, b"exa mple.com")  # not a host name (names: tests/test_sockets_udp.py)
    assert h.call(LOOKUP, "resolve_addresses", net, 400, 12, 24) == ec("INVALID_ARGUMENT")
    assert h.call(LOOKUP, "resolve_addresses", net, PAGE - 4, 11, 24) == ec("BAD_POINTER")


# --- the shipped glue is what wit2witx generates today ----------------------------------------


def test_sockets_shipped_glue_is_fresh():
    corpus_path("wasi-p2", "sockets")
    from wit2witx.hosts import regen

    assert regen.stale(CORPUS) == [], "run `python -m wit2witx.hosts.regen` and commit the result"


def test_sockets_address_conversions():
    """ip-socket-address values ↔ Python socket addresses, both families."""
    from wit2witx.hosts import sockets

    host = sockets.SocketsHost()  # loads the glue types
    T = sockets.T
    v4 = sockets.from_sockaddr(socket.AF_INET, ("127.0.0.1", 8080))
    assert v4.tag == T.IpSocketAddressTag.IPV4 and v4.value.address == (127, 0, 0, 1)
    assert sockets.to_sockaddr(v4) == (socket.AF_INET, ("127.0.0.1", 8080))
    v6 = sockets.from_sockaddr(socket.AF_INET6, ("::1", 443, 5, 0))
    assert v6.value.address == (0, 0, 0, 0, 0, 0, 0, 1) and v6.value.flow_info == 5
    assert sockets.to_sockaddr(v6) == (socket.AF_INET6, ("::1", 443, 5, 0))
    with pytest.raises(T.ErrorCodeError) as info:
        host._check_allowed(("192.0.2.1", 80))
    assert info.value.value == T.ErrorCode.ACCESS_DENIED
    sockets.SocketsHost(allow_network=True)._check_allowed(("192.0.2.1", 80))


def test_sockets_host_bounds_what_a_guest_can_make_it_buffer(hostile):
    """A guest ignoring check-write gets an error, not an ever-growing host buffer."""
    h = hostile
    se = lambda case: h.status(STREAMS, "StreamErrorStatus", case)  # noqa: E731
    a, b = socket.socketpair()
    a.setblocking(False)
    try:
        from wit2witx.hosts.sockets import Connection, OutputStream

        conn = Connection(a)
        out = h.tables.insert(f"{STREAMS}.output_stream", OutputStream(conn))
        conn.release()
        failed = 0
        for _ in range(200):  # nobody reads `b`: the socket buffers fill, then ours
            st = h.call(STREAMS, "output_stream_write", out, 0, PAGE, 200)
            if st != 0:
                assert st == se("LAST_OPERATION_FAILED")
                failed += 1
                break
        assert failed == 1
        assert len(h.tables.get(out, f"{STREAMS}.output_stream").pending) <= OutputStream.LIMIT
        # write-zeroes beyond the permit: refused without allocating it
        assert h.call(STREAMS, "output_stream_write_zeroes", out, 1 << 40, 200) == se("LAST_OPERATION_FAILED")
    finally:
        a.close()
        b.close()


def test_sockets_clock_pollables(hostile):
    """monotonic-clock pollables: ready only after their deadline; block waits for it."""
    import time

    h = hostile
    MC = "wasi_clocks_monotonic_clock"
    assert h.call(MC, "now", 16) == 0
    t0 = int.from_bytes(bytes(h.memory.read(h.store, 16, 24)), "little")
    assert abs(t0 - time.monotonic_ns()) < 5_000_000_000
    assert h.call(MC, "subscribe_duration", 50_000_000, 24) == 0
    p = h.u32(24)
    assert h.call(POLL, "pollable_ready", p, 32) == 0 and h.u32(32) == 0  # false
    start = time.monotonic()
    assert h.call(POLL, "pollable_block", p) == 0
    assert time.monotonic() - start >= 0.04
    assert h.call(POLL, "pollable_ready", p, 32) == 0 and h.u32(32) == 1  # true
    assert h.call(MC, "subscribe_instant", 0, 28) == 0  # in the past: ready at once
    h.write(64, h.u32(28).to_bytes(4, "little") + p.to_bytes(4, "little"))
    assert h.call(POLL, "poll", 64, 2, 200, 64, 100, 300) == 0
    assert h.u32(304) == 2 and (h.u32(200), h.u32(204)) == (0, 1)
    assert h.call(POLL, "pollable_drop", p) == 0 and h.call(POLL, "pollable_drop", p) != 0
