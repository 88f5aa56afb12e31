"""End to end: the C reference host (wit2witx/hosts/c/) in wasm3 and WAMR through
`wit2witx run --runtime wasm3|wamr`, with the native runner built with
-fsanitize=address,undefined (WIT2WITX_RUNNER_SANITIZE=1), on three runtimes: wasm3,
WAMR default and WAMR without hardware bound checks (the microcontroller configuration).

The guests are the ones of the Python end-to-end tests (fixtures/guests/sockets/), built
with zig for `-mcpu=mvp` (wasm3 0.5.0 cannot decode the reference-types encoding zig's
default CPU uses), plus `CHOST_GUEST` below: hostile calls, a guest that exhausts the
handle table, one that leaks sockets and exits, one that traps holding sockets. The
runner reports its open descriptors before the guest and after the host cleaned up
(W2W_RUNNER_REPORT): every OS socket must be closed. A differential test runs the same
guests under wasmtime-py (the Python host) and compares the transcripts.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from conftest import CORPUS, FIXTURES, ROOT, corpus_path, zig_cc

sys.path.insert(0, str(Path(__file__).resolve().parent))
from support import wamr as wamr_support  # noqa: E402
from test_sockets_e2e import MIB, Server, close_at_once, echo_handler, free_port  # noqa: E402
from test_sockets_udp import SIZES, expected_datagrams, fill, udp_socket  # noqa: E402

pytestmark = [pytest.mark.sockets, pytest.mark.slow]

GUESTS = FIXTURES / "guests" / "sockets"
RUN = [sys.executable, "-m", "wit2witx", "run"]
TIMEOUT = 600  # the first run of a runtime builds its runner (minutes on a loaded machine)
#: runtime id -> (--runtime, WAMR configuration)
RUNTIMES = {"wasm3": ("wasm3", None), "wamr": ("wamr", "default"), "wamr-nohwbound": ("wamr", "nohwbound")}
REPORT = re.compile(r"w2w-runner: fds-before=(\d+) fds-after=(\d+) sockets-opened=(\d+) "
                    r"sockets-closed=(\d+) live=(\d+)")

CHOST_GUEST = r"""
/* chost_guest MODE: hostile | leak | exhaust | trap (see tests/test_chost_run.py) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasi_io_streams.h"
#include "wasi_sockets_instance_network.h"
#include "wasi_sockets_ip_name_lookup.h"
#include "wasi_sockets_network.h"
#include "wasi_sockets_tcp.h"
#include "wasi_sockets_tcp_create_socket.h"

typedef wasi_sockets_network_ip_socket_address_t addr_t;
static wasi_sockets_network_network_t net;

static addr_t v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port) {
    addr_t x;
    memset(&x, 0, sizeof x);
    x.tag = WASI_SOCKETS_NETWORK_IP_SOCKET_ADDRESS_IPV4;
    x.u.ipv4.port = port;
    x.u.ipv4.address.f0 = a; x.u.ipv4.address.f1 = b; x.u.ipv4.address.f2 = c; x.u.ipv4.address.f3 = d;
    return x;
}

static wasi_sockets_tcp_tcp_socket_t tcp(void) {
    wasi_sockets_tcp_tcp_socket_t s = 0;
    int st = wasi_sockets_tcp_create_socket_create_tcp_socket(WASI_SOCKETS_NETWORK_IP_ADDRESS_FAMILY_IPV4, &s);
    if (st != 0) { fprintf(stderr, "create: %d\n", st); exit(10); }
    return s;
}

/* a listener on 127.0.0.1 and a connection to it, accepted: three sockets */
static void connected_pair(void) {
    wasi_sockets_tcp_tcp_socket_t l = tcp(), c = tcp(), a;
    wasi_io_streams_input_stream_t in, ain;
    wasi_io_streams_output_stream_t out, aout;
    addr_t any = v4(127, 0, 0, 1, 0), local;
    if (wasi_sockets_tcp_tcp_socket_start_bind(l, net, &any) || wasi_sockets_tcp_tcp_socket_finish_bind(l)
        || wasi_sockets_tcp_tcp_socket_start_listen(l) || wasi_sockets_tcp_tcp_socket_finish_listen(l)
        || wasi_sockets_tcp_tcp_socket_local_address(l, &local))
        exit(11);
    if (wasi_sockets_tcp_tcp_socket_start_connect(c, net, &local))
        exit(12);
    for (int i = 0; i < 1000000; i++) {
        int st = wasi_sockets_tcp_tcp_socket_finish_connect(c, &in, &out);
        if (st == 0) break;
        if (st != WASI_SOCKETS_NETWORK_ERROR_CODE_STATUS_WOULD_BLOCK) exit(13);
    }
    for (int i = 0; i < 1000000; i++) {
        int st = wasi_sockets_tcp_tcp_socket_accept(l, &a, &ain, &aout);
        if (st == 0) break;
        if (st != WASI_SOCKETS_NETWORK_ERROR_CODE_STATUS_WOULD_BLOCK) exit(14);
    }
}

#define SHOW(name, expr) printf("%s %d\n", name, (int)(expr))

static int hostile(void) {
    wasi_sockets_tcp_tcp_socket_t s = 0, dead;
    wasi_sockets_ip_name_lookup_resolve_address_stream_t rs;
    wasi_sockets_ip_name_lookup_resolve_address_stream_resolve_next_address_result_t next;
    addr_t port0 = v4(127, 0, 0, 1, 0), far = v4(192, 0, 2, 1, 80), bad = v4(127, 0, 0, 1, 1);
    bad.tag = 9;
    SHOW("create-bad-family", wasi_sockets_tcp_create_socket_create_tcp_socket(7, &s));
    SHOW("create-bad-pointer", wasi_sockets_tcp_create_socket_create_tcp_socket(0, (void *)(uintptr_t)0xFFFFFFF0u));
    s = tcp();
    SHOW("connect-forged", wasi_sockets_tcp_tcp_socket_start_connect(s + 1, net, &port0));
    SHOW("connect-stale-gen", wasi_sockets_tcp_tcp_socket_start_connect(s ^ (1u << 20), net, &port0));
    SHOW("connect-other-type", wasi_sockets_tcp_tcp_socket_start_connect(net, net, &port0));
    SHOW("connect-net-not-net", wasi_sockets_tcp_tcp_socket_start_connect(s, s, &port0));
    SHOW("connect-addr-off-memory", wasi_sockets_tcp_tcp_socket_start_connect(s, net, (void *)(uintptr_t)0xFFFFFFF8u));
    SHOW("connect-bad-tag", wasi_sockets_tcp_tcp_socket_start_connect(s, net, &bad));
    SHOW("connect-port-0", wasi_sockets_tcp_tcp_socket_start_connect(s, net, &port0));
    SHOW("connect-beyond-loopback", wasi_sockets_tcp_tcp_socket_start_connect(s, net, &far));
    SHOW("bind-beyond-loopback", wasi_sockets_tcp_tcp_socket_start_bind(s, net, &far));
    SHOW("finish-bind-not-started", wasi_sockets_tcp_tcp_socket_finish_bind(s));
    SHOW("listen-unbound", wasi_sockets_tcp_tcp_socket_start_listen(s));
    SHOW("shutdown-unconnected", wasi_sockets_tcp_tcp_socket_shutdown(s, WASI_SOCKETS_TCP_SHUTDOWN_TYPE_BOTH));
    SHOW("shutdown-bad-enum", wasi_sockets_tcp_tcp_socket_shutdown(s, 9));
    SHOW("drop", wasi_sockets_tcp_tcp_socket_drop(s));
    dead = s;
    SHOW("drop-again", wasi_sockets_tcp_tcp_socket_drop(dead));
    SHOW("use-dropped", wasi_sockets_tcp_tcp_socket_finish_bind(dead));
    SHOW("lookup-localhost", wasi_sockets_ip_name_lookup_resolve_addresses(net, (const uint8_t *)"localhost", 9, &rs));
    SHOW("lookup-drop", wasi_sockets_ip_name_lookup_resolve_address_stream_drop(rs));
    SHOW("lookup-bad-syntax", wasi_sockets_ip_name_lookup_resolve_addresses(net, (const uint8_t *)"a..b", 4, &rs));
    SHOW("lookup-name", wasi_sockets_ip_name_lookup_resolve_addresses(net, (const uint8_t *)"example.com", 11, &rs));
    int st;
    do {
        st = wasi_sockets_ip_name_lookup_resolve_address_stream_resolve_next_address(rs, &next);
    } while (st == WASI_SOCKETS_NETWORK_ERROR_CODE_STATUS_WOULD_BLOCK);
    SHOW("lookup-name-next", st);
    SHOW("lookup-name-drop", wasi_sockets_ip_name_lookup_resolve_address_stream_drop(rs));
    SHOW("string-off-memory", wasi_sockets_ip_name_lookup_resolve_addresses(net, (const uint8_t *)(uintptr_t)0xFFFFFF00u, 512, &rs));
    /* the host still works */
    s = tcp();
    SHOW("after-create-drop", wasi_sockets_tcp_tcp_socket_drop(s));
    return 0;
}

int main(int argc, char **argv) {
    if (wasi_sockets_instance_network_instance_network(&net) != 0)
        return 2;
    if (argc >= 2 && strcmp(argv[1], "hostile") == 0)
        return hostile();
    if (argc >= 2 && strcmp(argv[1], "leak") == 0) {
        for (int i = 0; i < 5; i++)
            tcp();
        connected_pair();
        printf("leaking\n");
        fflush(stdout);
        exit(0); /* nothing dropped */
    }
    if (argc >= 2 && strcmp(argv[1], "exhaust") == 0) {
        wasi_sockets_tcp_tcp_socket_t s;
        connected_pair();
        for (int n = 0; n < 100000; n++) {
            int st = wasi_sockets_tcp_create_socket_create_tcp_socket(0, &s);
            if (st != 0) {
                printf("exhausted after %d: status %d\n", n, st);
                fflush(stdout);
                exit(3);
            }
        }
        return 4;
    }
    if (argc >= 2 && strcmp(argv[1], "trap") == 0) {
        connected_pair();
        printf("trapping\n");
        fflush(stdout);
        __builtin_trap();
    }
    return 1;
}
"""


# --------------------------------------------------------------------------- building


@pytest.fixture(scope="session")
def native_env() -> dict[str, str]:
    """The environment of `wit2witx run` for the native runtimes: sanitized runners cached
    under .cache/ (shared by xdist workers and runs), WAMR from the vendored tarball."""
    source = wamr_support.require(wamr_support.wamr_source)
    return dict(os.environ, WIT2WITX_CACHE_DIR=str(ROOT / ".cache" / "chost"), WIT2WITX_RUNNER_SANITIZE="1",
                WAMR_SRC=str(source), W2W_RUNNER_REPORT="1",
                ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=99",
                UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=98")


def build_guest(out: Path, name: str, source: str | Path) -> Path:
    corpus_path("wasi-p2", "sockets")
    from wit2witx.hosts.regen import compile_sockets

    for fname, text in compile_sockets(CORPUS, ["c"]).items():
        (out / fname).write_text(text)
    src = Path(source) if isinstance(source, Path) else out / f"{name}.c"
    if not isinstance(source, Path):
        src.write_text(source)
    wasm = out / f"{name}.wasm"
    proc = zig_cc("--target=wasm32-wasi", "-mcpu=mvp", "-O2", "-Wall", "-Wextra", "-Werror", f"-I{out}",
                  f"-I{GUESTS}", "-o", str(wasm), str(src))
    assert proc.returncode == 0, proc.stderr
    return wasm


@pytest.fixture(scope="session")
def guests(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("chost_guests")
    return {"sockets": build_guest(out, "sockets_guest", GUESTS / "sockets_guest.c"),
            "udp": build_guest(out, "udp_guest", GUESTS / "udp_guest.c"),
            "chost": build_guest(out, "chost_guest", CHOST_GUEST)}


def run_cmd(runtime: str, wasm: Path, *args: str) -> tuple[list[str], dict[str, str] | None]:
    """argv and environment overrides for running `wasm` on `runtime`."""
    if runtime == "wasmtime":
        return [*RUN, str(wasm), "--host", "wasi-sockets", "--", *args], None
    name, config = RUNTIMES[runtime]
    extra = {"WIT2WITX_RUNNER_WAMR_CONFIG": config} if config else {}
    return [*RUN, str(wasm), "--runtime", name, "--host", "wasi-sockets", "--", *args], extra


def run_guest(runtime: str, env: dict[str, str], wasm: Path, *args: str) -> subprocess.CompletedProcess:
    cmd, extra = run_cmd(runtime, wasm, *args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT,
                          env=dict(env, **(extra or {})))


def sanitizers_silent(stderr: str) -> None:
    for marker in ("runtime error", "AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer"):
        assert marker not in stderr, stderr


def report(stderr: str) -> dict[str, int]:
    m = REPORT.search(stderr)
    assert m, f"no runner report in: {stderr}"
    return dict(zip(("before", "after", "opened", "closed", "live"), map(int, m.groups())))


def check_clean(proc: subprocess.CompletedProcess) -> dict[str, int]:
    """No sanitizer output, and every OS socket the host opened is closed again."""
    sanitizers_silent(proc.stderr)
    facts = report(proc.stderr)
    assert facts["after"] == facts["before"], facts
    assert facts["opened"] == facts["closed"], facts
    return facts


runtimes = pytest.mark.parametrize("runtime", list(RUNTIMES))


# --------------------------------------------------------------------------- TCP


@runtimes
def test_chost_echo_one_mib_in_chunks(runtime, native_env, guests):
    for total, chunk in ((MIB, 4096), (300_007, 1237)):
        with Server(echo_handler) as server:
            proc = run_guest(runtime, native_env, guests["sockets"], "echo", str(server.port), str(total), str(chunk))
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.split() == ["ok", str(total)]
        assert server.error is None and server.received == total
        check_clean(proc)


@runtimes
def test_chost_listen_and_accept(runtime, native_env, guests):
    cmd, extra = run_cmd(runtime, guests["sockets"], "serve")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(native_env, **(extra or {})))
    try:
        line = proc.stdout.readline()
        assert line.startswith("port "), (line, proc.stderr.read() if proc.poll() is not None else "")
        port = int(line.split()[1])
        payload = os.urandom(200_000)
        back = bytearray()
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as conn:
            sender = threading.Thread(target=lambda: (conn.sendall(payload), conn.shutdown(socket.SHUT_WR)))
            sender.start()
            while data := conn.recv(65536):
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
    check_clean(subprocess.CompletedProcess(cmd, 0, out, err))


@runtimes
def test_chost_refused_and_closed(runtime, native_env, guests):
    proc = run_guest(runtime, native_env, guests["sockets"], "refused", str(free_port()))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "refused"
    check_clean(proc)
    with Server(close_at_once) as server:
        proc = run_guest(runtime, native_env, guests["sockets"], "closed", str(server.port))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "closed"
    check_clean(proc)


# --------------------------------------------------------------------------- UDP and lookup


@runtimes
def test_chost_udp_datagrams_0_to_65507(runtime, native_env, guests):
    cmd, extra = run_cmd(runtime, guests["udp"], "udp", "0")
    with udp_socket() as peer, udp_socket() as stranger:
        cmd[-1] = str(peer.getsockname()[1])
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=dict(native_env, **(extra or {})))
        try:
            line = proc.stdout.readline().strip()
            assert line.startswith("port "), (line, proc.stderr.read() if proc.poll() is not None else "")
            guest_port = int(line.split()[1])
            got = [peer.recvfrom(70000) for _ in range(1 + len(SIZES))]
            assert all(src == ("127.0.0.1", guest_port) for _, src in got)
            assert got[0][0] == fill(1, 1)
            assert [d for d, _ in got[1:]] == expected_datagrams()
            assert proc.stdout.readline().strip() == f"sent {len(SIZES) + 1}"
            for data, _ in got[1:]:
                peer.sendto(data, ("127.0.0.1", guest_port))
            words = proc.stdout.readline().split()
            assert words[:2] == ["received", str(len(SIZES))], (words, proc.stderr.read())
            assert [int(w) for w in words[5:]] == [40 + 9000, 40 + 65507]
            line = proc.stdout.readline().strip()
            assert line == "connected", (line, proc.stderr.read() if proc.poll() is not None else "")
            stranger.sendto(b"stranger", ("127.0.0.1", guest_port))
            assert peer.recvfrom(100) == (b"ping", ("127.0.0.1", guest_port))
            assert peer.recvfrom(100) == (b"ping2", ("127.0.0.1", guest_port))
            peer.sendto(b"pong", ("127.0.0.1", guest_port))
            out, err = proc.communicate(timeout=TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 0, err
    assert out.startswith("ok "), out
    check_clean(subprocess.CompletedProcess(cmd, 0, out, err))


@runtimes
def test_chost_localhost_lookup(runtime, native_env, guests):
    proc = run_guest(runtime, native_env, guests["udp"], "dns", "localhost")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    addrs = [ln for ln in lines if ln.startswith("ipv")]
    assert addrs and set(addrs) <= {"ipv4 127.0.0.1", "ipv6 0:0:0:0:0:0:0:1"}
    assert lines[-1].startswith("wouldblock ")
    proc = run_guest(runtime, native_env, guests["udp"], "dns", "example.com")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].startswith("error "), proc.stdout  # no DNS without --allow-network
    check_clean(proc)


# --------------------------------------------------------------------------- hostile, leaks, traps


@runtimes
def test_chost_hostile_guest_gets_statuses(runtime, native_env, guests):
    proc = run_guest(runtime, native_env, guests["chost"], "hostile")
    assert proc.returncode == 0, proc.stderr
    got = dict(line.rsplit(" ", 1) for line in proc.stdout.splitlines())
    from wit2witx import hosts

    net = hosts.load_glue()["wasi_sockets_network"].ErrorCodeStatus
    tcp = hosts.load_glue()["wasi_sockets_tcp"].TcpStatus
    ec = lambda case: str(int(getattr(net, case)))  # noqa: E731
    assert got["create-bad-family"] == ec("BAD_VALUE")
    assert got["create-bad-pointer"] == ec("BAD_POINTER")
    for case in ("connect-forged", "connect-stale-gen", "connect-other-type", "connect-net-not-net"):
        assert got[case] == ec("BAD_HANDLE"), case
    assert got["connect-addr-off-memory"] == ec("BAD_POINTER")
    assert got["connect-bad-tag"] == ec("BAD_VALUE")
    assert got["connect-port-0"] == ec("INVALID_ARGUMENT")
    assert got["connect-beyond-loopback"] == ec("ACCESS_DENIED")
    assert got["bind-beyond-loopback"] == ec("ACCESS_DENIED")
    assert got["finish-bind-not-started"] == ec("NOT_IN_PROGRESS")
    assert got["listen-unbound"] == ec("INVALID_STATE")
    assert got["shutdown-unconnected"] == ec("INVALID_STATE")
    assert got["shutdown-bad-enum"] == ec("BAD_VALUE")
    assert got["drop"] == "0" and got["drop-again"] == str(int(tcp.BAD_HANDLE))
    assert got["use-dropped"] == ec("BAD_HANDLE")
    assert got["lookup-localhost"] == "0" and got["lookup-drop"] == "0"
    assert got["lookup-bad-syntax"] == ec("INVALID_ARGUMENT")
    assert got["lookup-name"] == "0" and got["lookup-name-next"] == ec("ACCESS_DENIED")
    assert got["string-off-memory"] == ec("BAD_POINTER")
    assert got["after-create-drop"] == "0"
    check_clean(proc)


@runtimes
@pytest.mark.parametrize("mode,status", [("leak", 0), ("exhaust", 3), ("trap", 134)])
def test_chost_runner_closes_every_socket(runtime, native_env, guests, mode, status):
    """A guest that leaks sockets and exits, one that fills the handle table, one that
    traps holding sockets: the runner survives and closes every OS socket it opened."""
    proc = run_guest(runtime, native_env, guests["chost"], mode)
    assert proc.returncode == status, proc.stderr
    facts = check_clean(proc)
    assert facts["opened"] >= 3 and facts["live"] > 0  # the guest really left them open
    if mode == "exhaust":
        m = re.match(r"exhausted after (\d+): status (\d+)", proc.stdout)
        assert m, proc.stdout
        assert 50 <= int(m.group(1)) < 64  # W2W_HANDLE_CAPACITY (64) less what the guest holds
    if mode == "trap":
        assert "trapped" in proc.stderr and proc.stdout.strip() == "trapping"


# --------------------------------------------------------------------------- differential


def transcript(runtime: str, env: dict[str, str], guests: dict[str, Path]) -> list[str]:
    lines = []
    proc = run_guest(runtime, env, guests["chost"], "hostile")
    lines += [f"hostile {proc.returncode}", *proc.stdout.splitlines()]
    proc = run_guest(runtime, env, guests["sockets"], "refused", str(free_port()))
    lines += [f"refused {proc.returncode}", *proc.stdout.splitlines()]
    with Server(close_at_once) as server:
        proc = run_guest(runtime, env, guests["sockets"], "closed", str(server.port))
    lines += [f"closed {proc.returncode}", *proc.stdout.splitlines()]
    with Server(echo_handler) as server:
        proc = run_guest(runtime, env, guests["sockets"], "echo", str(server.port), str(100_003), "4096")
    lines += [f"echo {proc.returncode}", *proc.stdout.splitlines(), f"server {server.received}"]
    for name in ("localhost", "127.0.0.1", "[::1]", "nonexistent.invalid", "a..b", "example.com"):
        proc = run_guest(runtime, env, guests["udp"], "dns", name)
        # which addresses `localhost` has and whether a lookup would-blocked first are
        # the machine's and the host's business: compare the set and the errors
        body = [ln for ln in proc.stdout.splitlines() if not ln.startswith("wouldblock")]
        lines += [f"dns {name} {proc.returncode}", *sorted(body)]
    return lines


def test_chost_transcripts_equal_the_python_host(native_env, guests):
    """The same guests under wasmtime-py (Python host), wasm3 and WAMR (C host) print
    the same transcript: statuses, byte counts, error cases."""
    reference = transcript("wasmtime", native_env, guests)
    assert "hostile 0" in reference and "refused 0" in reference and "echo 0" in reference
    for runtime in RUNTIMES:
        got = transcript(runtime, native_env, guests)
        assert got == reference, (runtime, [(a, b) for a, b in zip(reference, got) if a != b])
