"""P2 source compatibility end to end: a C program written against wit-bindgen's WASI 0.2
API (`fixtures/p2/p2_guest.c`) built unchanged for wasm32-wasi (P1) with zig against
`--emit c-p2` output, run by `wit2witx run --host wasi-cli` on wasmtime-py with the
Python reference host, against real sockets on 127.0.0.1 — with the same results as the
project's programs written against the P1 headers (`fixtures/guests/sockets/`).

An allocation counter is force-included into the program and the shim
(`fixtures/p2/alloc_count.h`): every run ends with "allocs A live L", and L must be 0
(a double free aborts the guest). A host answering `buffer_too_small` several times
exercises the shim's retry, and one that never stops makes it trap (the bound).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import FIXTURES, corpus_path, zig_cc
from test_sockets_e2e import Server, build_sockets_guest, echo_handler, free_port
from test_chost_run import RUNTIMES, native_env, sanitizers_silent  # noqa: F401 (a fixture)
from wasi import wasi_package_with_deps

pytest.importorskip("wasmtime")

pytestmark = [pytest.mark.sockets, pytest.mark.slow]

P2 = FIXTURES / "p2"
RUN = [sys.executable, "-m", "wit2witx", "run"]
TIMEOUT = 120
MIB = 1 << 20


def build_p2_guest(tmp: Path, name: str, *flags: str) -> Path:
    """The P2 program, unchanged, against `--emit c-p2` output of wasi:cli/imports, with
    the allocation counter force-included."""
    from wit2witx import compiler

    root = wasi_package_with_deps(tmp, "cli")
    gen = tmp / "gen"
    gen.mkdir()
    for fname, text in compiler.compile([str(root)], emit="c-p2", world="wasi:cli/imports").items():
        (gen / fname).write_text(text)
    wasm = tmp / f"{name}.wasm"
    proc = zig_cc("--target=wasm32-wasi", *flags, "-O2", "-std=c11", "-Wall", "-Wextra", "-Werror",
                  f"-I{gen}", "-include", str(P2 / "alloc_count.h"), "-o", str(wasm),
                  str(P2 / "p2_guest.c"), str(gen / "imports.c"), str(P2 / "alloc_count.c"))
    assert proc.returncode == 0, proc.stderr
    return wasm


@pytest.fixture(scope="session")
def p2_guest(tmp_path_factory) -> Path:
    return build_p2_guest(tmp_path_factory.mktemp("p2_guest"), "p2_guest")


@pytest.fixture(scope="session")
def p2_mvp_guest(tmp_path_factory) -> Path:
    """The same program for wasm3 0.5.0 (`-mcpu=mvp`) and WAMR with the C reference host."""
    return build_p2_guest(tmp_path_factory.mktemp("p2_mvp_guest"), "p2_mvp", "-mcpu=mvp")


@pytest.fixture(scope="session")
def p1_sockets_guest(tmp_path_factory) -> Path:
    return build_sockets_guest(tmp_path_factory.mktemp("p1_sockets"),
                               FIXTURES / "guests" / "sockets" / "sockets_guest.c")


@pytest.fixture(scope="session")
def p1_udp_guest(tmp_path_factory) -> Path:
    return build_sockets_guest(tmp_path_factory.mktemp("p1_udp"),
                               FIXTURES / "guests" / "sockets" / "udp_guest.c")


def run(wasm: Path, *args: str, host: str = "wasi-cli", extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    return subprocess.run([*RUN, str(wasm), "--host", host, *extra, "--", *args],
                          capture_output=True, text=True, timeout=TIMEOUT)


def p2_lines(proc: subprocess.CompletedProcess) -> list[str]:
    """The program's lines, after checking it ended well and leaked nothing."""
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines and lines[-1].startswith("allocs "), proc.stdout
    words = lines[-1].split()
    assert words[2:] == ["live", "0"], lines[-1]
    return lines[:-1]


# --------------------------------------------------------------------------- TCP


@pytest.mark.parametrize("total,chunk", [(MIB, 4096), (300_007, 1237)])
def test_p2_echo_client_matches_p1(p2_guest, p1_sockets_guest, total, chunk):
    results = []
    for wasm, host in ((p2_guest, "wasi-cli"), (p1_sockets_guest, "wasi-sockets")):
        with Server(echo_handler) as server:
            proc = run(wasm, "echo", str(server.port), str(total), str(chunk), host=host)
        assert server.error is None
        assert server.received == total
        results.append(p2_lines(proc) if wasm == p2_guest else proc.stdout.splitlines())
    assert results[0] == results[1] == [f"ok {total}"]


def test_p2_connection_refused_matches_p1(p2_guest, p1_sockets_guest):
    port = str(free_port())
    p2 = p2_lines(run(p2_guest, "refused", port))
    p1 = run(p1_sockets_guest, "refused", port, host="wasi-sockets")
    assert p2 == p1.stdout.splitlines() == ["refused"]


def serve_and_talk(wasm: Path, host: str, payload: bytes) -> tuple[bytes, subprocess.Popen, str, str]:
    proc = subprocess.Popen([*RUN, str(wasm), "--host", host, "--", "serve"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("port "), (line, proc.poll())
        back = bytearray()
        with socket.create_connection(("127.0.0.1", int(line.split()[1])), timeout=TIMEOUT) as conn:
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
    return bytes(back), proc, out, err


def test_p2_listening_server_matches_p1(p2_guest, p1_sockets_guest):
    payload = os.urandom(200_000)
    back, proc, out, err = serve_and_talk(p2_guest, "wasi-cli", payload)
    assert back == payload
    assert proc.returncode == 0, err
    lines = out.splitlines()
    assert lines[-1].split()[2:] == ["live", "0"], out
    back1, proc1, out1, err1 = serve_and_talk(p1_sockets_guest, "wasi-sockets", payload)
    assert back1 == payload and proc1.returncode == 0, err1
    assert lines[:-1] == out1.splitlines() == [f"served {len(payload)}"]


@pytest.mark.parametrize("runtime", ["wasm3", "wamr"])
def test_p2_programs_on_the_c_host(p2_mvp_guest, native_env, runtime):
    """The P2 program unchanged on wasm3 and WAMR with the C reference host (sanitized
    runner): the same lines as under wasmtime-py and as the P1 programs print."""
    name, config = RUNTIMES[runtime]
    env = dict(native_env, **({"WIT2WITX_RUNNER_WAMR_CONFIG": config} if config else {}))

    def native(*args: str, extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
        proc = subprocess.run([*RUN, str(p2_mvp_guest), "--runtime", name, *extra, "--", *args],
                              capture_output=True, text=True, timeout=300, env=env)
        sanitizers_silent(proc.stderr)
        return proc

    with Server(echo_handler) as server:
        assert p2_lines(native("echo", str(server.port), "300007", "1237")) == ["ok 300007"]
    assert server.received == 300_007
    assert p2_lines(native("refused", str(free_port()))) == ["refused"]
    assert p2_lines(native("dns", "127.0.0.1")) == ["ipv4 127.0.0.1"]
    assert p2_lines(native("random", "100000")) == ["random 100000", "nonzero", "seed"]
    assert p2_lines(native("clocks"))[0] == "monotonic ok"
    lines = p2_lines(native("env", "one", extra=("--env", "A=1")))
    assert lines[1:] == ["arg env", "arg one", "env A=1"]  # argv[0]: how the runner names it
    assert p2_lines(native("stdout", "hi")) == ["before", "hi", "after"]
    assert native("exit", "3").returncode == 1


# --------------------------------------------------------------------------- UDP, lookup


def test_p2_udp_with_a_python_peer(p2_guest):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
        peer.bind(("127.0.0.1", 0))
        peer.settimeout(TIMEOUT)
        proc = subprocess.Popen([*RUN, str(p2_guest), "--host", "wasi-cli", "--", "udp",
                                 str(peer.getsockname()[1])],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            line = proc.stdout.readline()
            assert line.startswith("port "), (line, proc.poll())
            guest = ("127.0.0.1", int(line.split()[1]))
            got = []
            for _ in range(3):
                data, src = peer.recvfrom(70000)
                assert src == guest
                got.append(data)
            assert [len(d) for d in got] == [0, 100, 9000]
            assert got[1] == bytes((1 + k) * 7 + 3 & 0xFF for k in range(100))
            for data in got:
                peer.sendto(data, guest)
            out, err = proc.communicate(timeout=TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 0, err
    lines = out.splitlines()
    assert lines[-1].split()[2:] == ["live", "0"], out
    assert lines[:-1] == ["udp 0 100 9000"]


@pytest.mark.parametrize("name", ["localhost", "127.0.0.1", "[::1]"])
def test_p2_name_lookup_matches_p1(p2_guest, p1_udp_guest, name):
    p2 = p2_lines(run(p2_guest, "dns", name))
    p1 = run(p1_udp_guest, "dns", name, host="wasi-sockets")
    assert p1.returncode == 0, p1.stderr
    addresses = [line for line in p1.stdout.splitlines() if line.startswith(("ipv4 ", "ipv6 "))]
    assert p2 == addresses and addresses


# --------------------------------------------------------------------------- cli, random, clocks


@pytest.mark.parametrize("n", [0, 16, 100_000])
def test_p2_random_bytes(p2_guest, n):
    lines = p2_lines(run(p2_guest, "random", str(n)))
    assert lines == [f"random {n}"] + (["nonzero"] if n >= 16 else []) + ["seed"]


def test_p2_clocks(p2_guest):
    before = time.time()
    lines = p2_lines(run(p2_guest, "clocks"))
    assert lines[0] == "monotonic ok"
    word, seconds, nanos = lines[1].split()
    assert word == "wall" and before - 5 <= int(seconds) <= time.time() + 5
    assert 0 <= int(nanos) < 1_000_000_000


def test_p2_environment_and_arguments(p2_guest):
    lines = p2_lines(run(p2_guest, "env", "one", "two words", "ü",
                         extra=("--env", "A=1", "--env", "B=x=y")))
    assert lines == ["arg p2_guest.wasm", "arg env", "arg one", "arg two words", "arg ü",
                     "env A=1", "env B=x=y"]


def test_p2_stdout_stream_in_order_with_printf(p2_guest):
    assert p2_lines(run(p2_guest, "stdout", "through wasi:cli/stdout")) == [
        "before", "through wasi:cli/stdout", "after"]


@pytest.mark.parametrize("code,status", [("0", 0), ("3", 1)])
def test_p2_exit(p2_guest, code, status):
    proc = run(p2_guest, "exit", code)
    assert proc.returncode == status, proc.stderr
    assert "allocs" not in proc.stdout


# --------------------------------------------------------------------------- retry


RETRY_RUNNER = r"""
import sys, wasmtime
from wit2witx import hosts
from wit2witx.hosts.cli import CliHost

wasm, mode = sys.argv[1], sys.argv[2]

class Growing(CliHost):
    "Every call's environment is twice the last one's, `grow` times, then it settles."
    calls = 0
    grow = 2 if mode == "settles" else 1000

    def get_environment(self, *, result_capacity):
        Growing.calls += 1
        n = min(Growing.calls, self.grow + 1)
        return [(f"K{i}", "v" * 40) for i in range(8 << n)]

engine = wasmtime.Engine()
store = wasmtime.Store(engine)
config = wasmtime.WasiConfig()
config.argv = ["p2_guest.wasm", "env"]
config.inherit_stdout()
config.inherit_stderr()
store.set_wasi(config)
linker = wasmtime.Linker(engine)
linker.define_wasi()
host, tables = hosts.add_cli_to_linker(linker, store, Growing())
instance = linker.instantiate(store, wasmtime.Module.from_file(engine, wasm))
try:
    instance.exports(store)["_start"](store)
    outcome = "returned"
except wasmtime.ExitTrap as exc:
    outcome = f"exit {exc.code}"
except wasmtime.Trap:
    outcome = "trapped"
sys.stdout.flush()
print(f"calls {Growing.calls} handles {tables.live} {outcome}", file=sys.stderr)
"""


def test_p2_retry_on_buffer_too_small(p2_guest):
    """Three `buffer_too_small` answers, each asking for more: the shim retries with an
    allocation of the size reported each time, frees the ones it outgrew, hands the
    caller separate allocations, and leaks no memory and no handle."""
    proc = subprocess.run([sys.executable, "-c", RETRY_RUNNER, str(p2_guest), "settles"],
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.stderr.strip().splitlines()[-1] in ("calls 4 handles 0 returned",
                                                    "calls 4 handles 0 exit 0"), proc.stderr
    lines = proc.stdout.splitlines()
    env = [line for line in lines if line.startswith("env ")]
    assert env == [f"env K{i}={'v' * 40}" for i in range(8 << 3)]
    assert lines[-1].split()[2:] == ["live", "0"]


def test_p2_retry_is_bounded(p2_guest):
    """A host that always wants more: the shim gives up after W2W_P2_RETRIES retries
    and traps, as a component would."""
    proc = subprocess.run([sys.executable, "-c", RETRY_RUNNER, str(p2_guest), "forever"],
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.stderr.strip().splitlines()[-1].startswith("calls 5 ") and \
        proc.stderr.strip().endswith("trapped"), proc.stderr


def test_p2_guest_needs_only_what_it_uses(p2_guest):
    """The shim declares every import of the world; the linker keeps those the program
    calls: no filesystem import reaches the module."""
    from conftest import run_wasm_tools

    corpus_path("wasi-p2")
    proc = run_wasm_tools("print", str(p2_guest))
    assert proc.returncode == 0
    imports = [line.split('"')[1] for line in proc.stdout.decode().splitlines()
               if line.strip().startswith('(import "')]
    assert "wasi_sockets_tcp" in imports and "wasi_cli_environment" in imports
    assert not [m for m in imports if m.startswith("wasi_filesystem")]


COUNTER_PROBE = r"""
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
    char *a = malloc(16), *b = malloc(32);
    b = realloc(b, 64);
    free(a);
    if (argc > 1 && !strcmp(argv[1], "double")) free(a);
    if (argc > 1 && !strcmp(argv[1], "leak")) return alloc_report() == 1 ? 0 : 1;
    free(b);
    return (int)alloc_report();
}
"""


@pytest.mark.parametrize("mode,status,line", [("clean", 0, "allocs 3 live 0"),
                                              ("leak", 0, "allocs 3 live 1"),
                                              ("double", 134, None)])
def test_the_allocation_counter_sees_leaks_and_double_frees(tmp_path, mode, status, line):
    """The counter the P2 programs are checked with can fail: a leaked block is live, a
    second free of a block aborts the guest."""
    src = tmp_path / "probe.c"
    src.write_text(COUNTER_PROBE)
    wasm = tmp_path / "probe.wasm"
    proc = zig_cc("--target=wasm32-wasi", "-O1", "-include", str(P2 / "alloc_count.h"),
                  "-o", str(wasm), str(src), str(P2 / "alloc_count.c"))
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([*RUN, str(wasm), "--", mode], capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == status, proc.stderr
    if line is None:
        assert "not a live block" in proc.stderr
    else:
        assert proc.stdout.splitlines() == [line]
