"""Faults (issue 19, item 4) on the C host (wasm3, WAMR, WAMR without hardware bound
checks; ASan+UBSan runners) and, where no injection is needed, the Python host.

Injected: W2W_FAULTS (wit2witx/hosts/c/w2w_posix_fault.h) makes the next N OS calls of
a kind fail. Transient errors (EINTR, EAGAIN, short writes) must be invisible to the
guest: every byte still echoed. Hard errors must reach the guest as the documented WIT
error codes (docs/abi.md, "Faults"): a socket() ENOMEM is out-of-memory, EMFILE
new-socket-limit, a connect refused/timed-out is connection-refused/timeout, a recv or
send ECONNRESET/EPIPE is stream-error.last-operation-failed whose error says so, an
accept ECONNABORTED is connection-aborted and the connection is still served next time.
The runner reports "w2w-fault: injected=N": the faults really happened.

Real: a peer resetting mid-transfer (SO_LINGER 0) while others keep going; a guest
trapping between two calls on the same stream handle; a guest exiting with sockets,
streams and pollables open. Every case: no hang (timeouts), no crash, no sanitizer
report, and the runner's open descriptors after the guest equal those before.
"""

from __future__ import annotations

import errno
import gc
import os
import re
import selectors
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import FIXTURES

sys.path.insert(0, str(Path(__file__).resolve().parent))
from support.loadgen import GuestServer, run_clients  # noqa: E402
from test_chost_run import RUNTIMES, build_guest, check_clean, run_cmd, run_guest  # noqa: E402
from test_chost_run import native_env as native_env  # noqa: E402,F401  (fixture)
from test_sockets_e2e import Server, echo_handler  # noqa: E402

pytestmark = [pytest.mark.sockets, pytest.mark.slow]

LOAD_GUEST = FIXTURES / "guests" / "load" / "load_guest.c"
TIMEOUT = 600.0  # a first run builds its runner (minutes on a loaded machine); no test waits that long otherwise
#: the clients' time once the server printed its port (its runner is built by then): a
#: round takes seconds even under sanitizers, and a hang costs two minutes, not ten
CLIENTS_TIMEOUT = 120.0
INJECTED = re.compile(r"w2w-fault: injected=(\d+)")
runtimes = pytest.mark.parametrize("runtime", list(RUNTIMES))
all_hosts = pytest.mark.parametrize("runtime", ["wasmtime", *RUNTIMES])


@pytest.fixture(scope="session")
def load_guest(tmp_path_factory) -> Path:
    return build_guest(tmp_path_factory.mktemp("fault_guest"), "load_guest", LOAD_GUEST)


def statuses():
    from wit2witx import hosts

    glue = hosts.load_glue()
    return glue["wasi_sockets_network"].ErrorCodeStatus, glue["wasi_io_streams"].StreamErrorStatus


def injected(stderr: str) -> int:
    m = INJECTED.search(stderr)
    assert m, f"no fault report in: {stderr}"
    return int(m.group(1))


def serve(runtime: str, env: dict[str, str], wasm: Path, faults: str | None = None) -> GuestServer:
    cmd, extra = run_cmd(runtime, wasm, "serve")
    env = dict(env, **(extra or {}))
    if faults is not None:
        env["W2W_FAULTS"] = faults
    return GuestServer(cmd, env, TIMEOUT)


def serve_clients(runtime, env, wasm, faults, clients=20, size=64 * 1024, reset=0, timeout=CLIENTS_TIMEOUT):
    server = serve(runtime, env, wasm, faults)
    try:
        got = run_clients(server.port, clients, size, timeout, reset=reset)
        status, out, err = server.stop()
    finally:
        server.kill()
    return got, status, out, err


def last_line(out: str) -> dict[str, int]:
    words = out.splitlines()[-1].split()
    assert words[0::2] == ["served", "bytes", "failed", "accept-errors"], out
    return dict(zip(words[0::2], map(int, words[1::2])))


# --------------------------------------------------------------------------- injected, transparent

TRANSIENT = {
    "eintr": ("recv=EINTR*40", "send=EINTR*40", "poll=EINTR*10", "accept=EINTR*5"),
    "eagain": ("recv=EAGAIN*40", "send=EAGAIN*40", "accept=EAGAIN*5"),
    "short-writes": ("send=short*300",),
}


def for_host(runtime: str, rules: tuple[str, ...]) -> tuple[str, int]:
    """W2W_FAULTS for `runtime` and how many faults it injects (the Python host has no
    poll call of its own: it waits in `selectors`)."""
    rules = tuple(r for r in rules if runtime != "wasmtime" or not r.startswith("poll="))
    return ",".join(rules), sum(int(r.split("*")[1]) for r in rules)


def clean(runtime: str, status: int, out: str, err: str) -> None:
    """The C host's runner report: no sanitizer output, every OS socket closed."""
    if runtime != "wasmtime":
        check_clean(subprocess.CompletedProcess([], status, out, err))


@all_hosts
@pytest.mark.parametrize("case", list(TRANSIENT))
def test_fault_transient_errors_are_invisible(runtime, case, native_env, load_guest):
    spec, count = for_host(runtime, TRANSIENT[case])
    got, status, out, err = serve_clients(runtime, native_env, load_guest, spec)
    assert status == 0, err
    assert got.echoed_ok == got.clients, got
    assert last_line(out) == {"served": 20, "bytes": 20 * 64 * 1024, "failed": 0, "accept-errors": 0}
    assert injected(err) == count
    clean(runtime, status, out, err)


@all_hosts
def test_fault_bytes_a_write_left_behind_go_out_while_the_guest_waits_to_read(runtime, native_env, load_guest):
    """One client, 1 KiB: the send of the guest's one write says EAGAIN, so the host keeps
    the bytes; the guest then waits only for its input. The host sends them meanwhile (a
    `write` only starts the write), the client gets its echo and closes, the guest ends
    the connection as served."""
    got, status, out, err = serve_clients(runtime, native_env, load_guest, "send=EAGAIN", clients=1, size=1024)
    assert status == 0, err
    assert injected(err) == 1
    assert last_line(out) == {"served": 1, "bytes": 1024, "failed": 0, "accept-errors": 0}
    assert got.echoed_ok == 1, got
    clean(runtime, status, out, err)


# --------------------------------------------------------------------------- injected, reported


@all_hosts
@pytest.mark.parametrize("kind,message", [("recv", "recv: Connection reset by peer"),
                                          ("send", "send: Connection reset by peer")])
def test_fault_reset_reaches_the_server_guest_as_stream_error(runtime, kind, message, native_env, load_guest):
    """One connection's recv/send fails with ECONNRESET in the middle: the guest sees
    last-operation-failed with that error, drops the connection, serves all others."""
    got, status, out, err = serve_clients(runtime, native_env, load_guest, f"{kind}=ECONNRESET@30")
    assert status == 0, err
    assert injected(err) == 1
    assert [ln for ln in out.splitlines() if ln.startswith("error ")] == [f"error {message}"]
    facts = last_line(out)
    assert facts["failed"] == 1 and facts["served"] == 19 and facts["accept-errors"] == 0, out
    # The client of the failed connection may have its whole echo already: the fault can
    # hit the recv that would have read the end of its stream (seen once on WAMR).
    assert got.echoed_ok in (19, 20) and got.clients == 20, got
    clean(runtime, status, out, err)


@all_hosts
def test_fault_reset_of_a_connections_last_write_is_reported_at_once(runtime, native_env, load_guest):
    """One client, 1 KiB: the guest's one write is also its last, and its send fails. The
    write itself reports it (the guest then waits only to read, so a later report would
    leave both sides waiting); the client sees its connection end without the echo."""
    got, status, out, err = serve_clients(runtime, native_env, load_guest, "send=ECONNRESET", clients=1, size=1024)
    assert status == 0, err
    assert injected(err) == 1
    assert [ln for ln in out.splitlines() if ln.startswith("error ")] == ["error send: Connection reset by peer"]
    assert last_line(out) == {"served": 0, "bytes": 1024, "failed": 1, "accept-errors": 0}
    assert got.echoed_ok == 0 and got.bytes_echoed == 0, got
    clean(runtime, status, out, err)


@all_hosts
def test_fault_aborted_accept_is_connection_aborted_and_the_server_goes_on(runtime, native_env, load_guest):
    network, _ = statuses()
    got, status, out, err = serve_clients(runtime, native_env, load_guest, "accept=ECONNABORTED@3")
    assert status == 0, err
    assert injected(err) == 1
    assert f"accept-error {int(network.CONNECTION_ABORTED)}" in out.splitlines()
    assert last_line(out) == {"served": 20, "bytes": 20 * 64 * 1024, "failed": 0, "accept-errors": 1}
    assert got.echoed_ok == 20
    clean(runtime, status, out, err)


@all_hosts
@pytest.mark.parametrize("faults,first", [("socket=ENOMEM", "OUT_OF_MEMORY"), ("socket=EMFILE", "NEW_SOCKET_LIMIT"),
                                          ("socket=ENOBUFS", "OUT_OF_MEMORY")])
def test_fault_socket_creation(runtime, faults, first, native_env, load_guest):
    network, _ = statuses()
    cmd, extra = run_cmd(runtime, load_guest, "create")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT,
                          env=dict(native_env, **(extra or {}), W2W_FAULTS=faults))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["create", str(int(getattr(network, first))), "0"]
    assert injected(proc.stderr) == 1
    clean(runtime, proc.returncode, proc.stdout, proc.stderr)


@all_hosts
def test_fault_rules_skip_count_and_bad_rules(runtime, native_env, load_guest):
    """`@SKIP` lets calls through first; an unparsable rule is reported and ignored."""
    network, _ = statuses()
    cmd, extra = run_cmd(runtime, load_guest, "create")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT,
                          env=dict(native_env, **(extra or {}), W2W_FAULTS="socket=ENOMEM@1,bogus,recv=EWHAT"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["create", "0", str(int(network.OUT_OF_MEMORY))]
    assert "w2w-fault: ignored rule `bogus`" in proc.stderr and "ignored rule `recv=EWHAT`" in proc.stderr
    assert injected(proc.stderr) == 1
    clean(runtime, proc.returncode, proc.stdout, proc.stderr)


def test_fault_python_rules_parse_like_the_c_hosts():
    from wit2witx.hosts import faults

    assert faults.parse_rule("recv=ECONNRESET*3@2") == faults.Rule("recv", errno.ECONNRESET, 3, 2)
    assert faults.parse_rule("send=short@1*4") == faults.Rule("send", faults.SHORT, 4, 1)
    for bad in ("recv=short", "poll=EINTR", "recv", "recv=EFOO", "send=EINTR*x"):
        assert faults.parse_rule(bad) is None, bad
    f = faults.Faults("send=EPIPE@1,send=EINTR*2")
    fired = [f.fire("send", False) for _ in range(4)]
    assert [r.err if r else 0 for r in fired] == [errno.EINTR, errno.EPIPE, errno.EINTR, 0]
    assert f.injected == 3


def test_fault_python_write_reports_its_own_failed_send(monkeypatch):
    """The send a `write` starts fails: that `write` says so (as the C host), not only a
    later call; a guest that wrote its last bytes and now waits to read would never learn
    of it (the CI hang of the send-ECONNRESET case above)."""
    from wit2witx.hosts import faults, sockets

    host = sockets.SocketsHost()
    a, b = socket.socketpair()
    a.setblocking(False)
    conn = sockets.Connection(a)
    out = sockets.OutputStream(conn)
    conn.release()  # the stream holds the last reference: its drop closes the socket
    try:
        monkeypatch.setattr(faults, "ACTIVE", faults.Faults("send=ECONNRESET"))
        assert host.output_stream_check_write(out) == sockets.OutputStream.LIMIT
        with pytest.raises(Exception) as failed:
            host.output_stream_write(out, b"last bytes")
        assert failed.value.value.value.message == "send: Connection reset by peer"  # last-operation-failed(error)
        with pytest.raises(Exception) as closed:
            host.output_stream_check_write(out)
        assert closed.value.value.value is None  # closed: no error resource
        assert out not in sockets.BACKLOG._streams
        host.output_stream_drop(out)  # a failed stream sends nothing more, not even now
        b.settimeout(10)
        assert b.recv(100) == b""
    finally:
        b.close()


def test_fault_python_written_bytes_go_out_while_the_guest_waits_elsewhere():
    """Bytes a `write` left in the host's buffer (the socket was full) reach the peer while
    the guest waits in `poll` on something else, as wasmtime's background writes do."""
    from wit2witx.hosts import sockets

    host = sockets.SocketsHost()
    a, b = socket.socketpair()
    signal_r, signal_w = socket.socketpair()
    a.setblocking(False)
    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    b.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    out = sockets.OutputStream(sockets.Connection(a))
    data = os.urandom(sockets.OutputStream.LIMIT)
    got = bytearray()

    def peer():  # reads everything, then wakes the guest's poll
        while len(got) < len(data):
            chunk = b.recv(65536)
            if not chunk:
                break
            got.extend(chunk)
        signal_w.send(b"!")

    try:
        assert host.output_stream_check_write(out) == len(data)
        host.output_stream_write(out, data)
        assert out.pending, "the socket took all at once: nothing left to send in the background"
        reader = threading.Thread(target=peer, daemon=True)
        reader.start()
        woken = sockets.Pollable(sock=signal_r, events=selectors.EVENT_READ)
        give_up = sockets.Pollable(deadline=time.monotonic_ns() + 20 * 10**9)
        assert host.poll([woken, give_up], result_capacity=2) == [0]
        reader.join(5)
        assert bytes(got) == data and not out.pending and out not in sockets.BACKLOG._streams
    finally:
        host.output_stream_drop(out)
        for s in (b, signal_r, signal_w):
            s.close()


CONNECT_CASES = {
    # W2W_FAULTS: (connect line, echo line, error line or None)
    "connect=ECONNREFUSED": ("CONNECTION_REFUSED", None, None),
    "connect=ETIMEDOUT": ("TIMEOUT", None, None),
    "connect=EINTR": (0, "ok", None),
    "recv=ECONNRESET": (0, "LAST_OPERATION_FAILED", "error recv: Connection reset by peer"),
    "recv=ENOMEM": (0, "LAST_OPERATION_FAILED", "error recv: Cannot allocate memory"),
    "send=EPIPE": (0, "LAST_OPERATION_FAILED", "error send: Broken pipe"),
    "send=ECONNRESET@0*1,send=short*20": (0, "LAST_OPERATION_FAILED", "error send: Connection reset by peer"),
    "send=short*20,recv=EINTR*5,recv=EAGAIN*5": (0, "ok", None),
}


@all_hosts
@pytest.mark.parametrize("faults", list(CONNECT_CASES))
def test_fault_client_sees_wit_error_codes(runtime, faults, native_env, load_guest):
    network, stream = statuses()
    connect, echo, error = CONNECT_CASES[faults]
    cmd, extra = run_cmd(runtime, load_guest, "connect", "0")
    with Server(echo_handler) as server:
        cmd[-1] = str(server.port)
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT,
                              env=dict(native_env, **(extra or {}), W2W_FAULTS=faults))
    assert proc.returncode == 0, proc.stderr
    want = [f"connect {int(getattr(network, connect)) if isinstance(connect, str) else connect}"]
    if echo == "ok":
        want.append("echo ok")
    elif echo is not None:
        want += [f"echo {int(getattr(stream, echo))}", error]
    assert proc.stdout.splitlines() == want, proc.stderr
    assert injected(proc.stderr) >= 1
    clean(runtime, proc.returncode, proc.stdout, proc.stderr)


# --------------------------------------------------------------------------- real faults


@all_hosts
def test_fault_peers_resetting_mid_transfer(runtime, native_env, load_guest):
    """10 of 40 clients abort with a RST after half their bytes: the guest sees stream
    errors (or an early close) for those only; the 30 others get every byte back."""
    got, status, out, err = serve_clients(runtime, native_env, load_guest, None, clients=40, reset=10)
    assert status == 0, err
    assert got.echoed_ok == 30, got
    facts = last_line(out)
    assert facts["served"] + facts["failed"] == 40 and facts["served"] >= 30, out
    errors = [ln for ln in out.splitlines() if ln.startswith("error ")]
    assert len(errors) == facts["failed"]
    assert all(ln in ("error recv: Connection reset by peer", "error send: Connection reset by peer",
                      "error closed") or "reset" in ln.lower() or "Broken pipe" in ln for ln in errors), errors
    clean(runtime, status, out, err)


class SilentPeer:
    """A loopback listener that accepts and never reads (so the guest's writes pile up)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        try:
            while True:
                conn, _ = self.sock.accept()
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                self.conns.append(conn)
        except OSError:
            return

    def wait_for(self, n: int, timeout: float = 10.0) -> int:
        """The number of accepted connections once it reaches `n` (or the timeout)."""
        end = time.monotonic() + timeout
        while len(self.conns) < n and time.monotonic() < end:
            time.sleep(0.01)
        return len(self.conns)

    def close(self) -> None:
        self.sock.close()
        for c in self.conns:
            c.close()


@runtimes
@pytest.mark.parametrize("mode,status,line", [("exit-open", 0, "exiting"), ("trap-between", 134, "trapping")])
def test_fault_guest_leaves_handles_open_c_host(runtime, mode, status, line, native_env, load_guest):
    peer = SilentPeer()
    try:
        proc = run_guest(runtime, native_env, load_guest, mode, str(peer.port))
    finally:
        peer.close()
    assert proc.returncode == status, proc.stderr
    assert proc.stdout.strip() == line
    facts = check_clean(proc)
    assert facts["live"] >= (6 if mode == "exit-open" else 4)  # the guest really left them open


def run_in_process(wasm: Path, mode: str, port: int, trapped: bool) -> int:
    """Run the guest on wasmtime-py with the Python host in this process; the open
    descriptors while its store is still alive."""
    import wasmtime  # noqa: PLC0415

    from wit2witx import hosts  # noqa: PLC0415

    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    config = wasmtime.WasiConfig()
    argv = ["load_guest", mode, str(port)]
    config.argv = argv
    config.inherit_stdout()
    store.set_wasi(config)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    hosts.HOSTS["wasi-sockets"](linker, store, allow_network=False, argv=argv, env=[])
    instance = linker.instantiate(store, wasmtime.Module.from_file(engine, str(wasm)))
    with pytest.raises(wasmtime.Trap if trapped else wasmtime.ExitTrap):
        instance.exports(store)["_start"](store)
    return open_fds()


def open_fds() -> int:
    gc.collect()
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize("mode,trapped", [("exit-open", False), ("trap-between", True)])
def test_fault_guest_leaves_handles_open_python_host(mode, trapped, load_guest, capfd):
    """The same guests in this process on wasmtime-py with the Python host: once the
    store is gone, every descriptor the host opened is closed again. (A first run
    creates wasmtime's process-wide event loop descriptors; the second is measured.)"""
    pytest.importorskip("wasmtime")
    peer = SilentPeer()
    try:
        run_in_process(load_guest, mode, peer.port, trapped)
        peer_conns = peer.wait_for(1)
        before = open_fds()
        during = run_in_process(load_guest, mode, peer.port, trapped)
        accepted = peer.wait_for(peer_conns + 1) - peer_conns  # the peer's side, still open
        after = open_fds()
    finally:
        peer.close()
    assert capfd.readouterr().out.split() == ["trapping" if trapped else "exiting"] * 2
    assert accepted == 1
    assert during >= before + accepted + (2 if mode == "exit-open" else 1)  # the guest's sockets were open
    assert after == before + accepted, (before, during, after)
