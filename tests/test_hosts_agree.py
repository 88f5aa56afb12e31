"""The two reference hosts of wasi:sockets agree on where a connect or an accept fails:
the same guest (fixtures/guests/sockets/connect_guest.c) prints, call by call, the
statuses it gets, under wasmtime-py with the Python host and under wasm3 and WAMR (two
configurations) with the C host, and the transcripts are identical.

The rule both hosts follow is wasmtime's and the WIT's (tcp.wit, start-connect): start-
connect fails only on its arguments (family, unspecified address, port 0, multicast or
broadcast, IPv4-mapped: `invalid-argument`), the socket's state and the network policy
(`access-denied`); whatever connect(2) says, even at once (ECONNREFUSED on loopback,
ENETUNREACH for an address without a route), is finish-connect's, after which the
socket is closed. An interrupted accept (EINTR) is retried: the connection stays queued
and the same call takes it. Unreachable peers and interrupted calls are injected with
W2W_FAULTS (the same grammar in both hosts), since a real route to nowhere depends on the
machine.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from conftest import FIXTURES

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_chost_run import RUNTIMES, build_guest, check_clean, run_guest  # noqa: E402
from test_chost_run import native_env as native_env  # noqa: E402,F401  (fixture)
from test_sockets_e2e import free_port  # noqa: E402

pytestmark = [pytest.mark.sockets, pytest.mark.slow]

GUEST = FIXTURES / "guests" / "sockets" / "connect_guest.c"
INJECTED = re.compile(r"w2w-fault: injected=(\d+)")

#: case -> (guest arguments, W2W_FAULTS or None); "PORT" is a listener's port,
#: "CLOSED" a port nobody listens on
CASES: dict[str, tuple[tuple[str, ...], str | None]] = {
    "connected": (("connect", "PORT"), None),
    "refused": (("connect", "CLOSED"), None),
    "refused-at-once": (("connect", "PORT"), "connect=ECONNREFUSED"),
    "net-unreachable": (("connect", "PORT"), "connect=ENETUNREACH"),
    "host-unreachable": (("connect", "PORT"), "connect=EHOSTUNREACH"),
    "timed-out": (("connect", "PORT"), "connect=ETIMEDOUT"),
    "connect-interrupted": (("connect", "PORT"), "connect=EINTR"),
    "invalid": (("invalid",), None),
    "accepted": (("accept",), None),
    "accept-interrupted": (("accept",), "accept=EINTR*3"),
    "accept-aborted": (("accept",), "accept=ECONNABORTED"),
}


def status() -> type:
    from wit2witx import hosts

    return hosts.load_glue()["wasi_sockets_network"].ErrorCodeStatus


def expected(case: str) -> list[str]:
    """What WASI says each case prints (the Python host is held to it first)."""
    s = status()

    def connect(finish: str | int) -> list[str]:
        code = finish if isinstance(finish, int) else int(getattr(s, finish))
        return ["start-connect 0", f"finish-connect {code}",
                f"finish-connect-again {int(s.NOT_IN_PROGRESS)}",
                f"start-connect-again {int(s.INVALID_STATE)}", "drop 0"]

    if case in ("connected", "connect-interrupted"):
        return connect(0)
    failures = {"refused": "CONNECTION_REFUSED", "refused-at-once": "CONNECTION_REFUSED",
                "net-unreachable": "REMOTE_UNREACHABLE", "host-unreachable": "REMOTE_UNREACHABLE",
                "timed-out": "TIMEOUT"}
    if case in failures:
        return connect(failures[case])
    if case == "invalid":
        lines = []
        for name in ("unspecified", "port-0", "multicast", "broadcast", "beyond-loopback", "other-family",
                     "v6-unspecified", "v6-port-0", "v6-multicast", "v6-v4-mapped", "v6-other-family"):
            code = s.ACCESS_DENIED if name == "beyond-loopback" else s.INVALID_ARGUMENT
            lines += [f"{name} {int(code)}", f"{name}-finish {int(s.NOT_IN_PROGRESS)}"]
        return lines
    if case == "accept-aborted":
        return [f"accept {int(s.CONNECTION_ABORTED)}", "accept-again 0"]
    return ["accept 0"]


@contextmanager
def listener() -> Iterator[int]:
    """A loopback listener that never accepts: the kernel completes the handshakes."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


@pytest.fixture(scope="module")
def connect_guest(tmp_path_factory) -> Path:
    return build_guest(tmp_path_factory.mktemp("connect_guest"), "connect_guest", GUEST)


def run_case(runtime: str, env: dict[str, str], wasm: Path, case: str) -> subprocess.CompletedProcess:
    args, faults = CASES[case]
    env = dict(env, W2W_FAULTS=faults) if faults else dict(env)
    with listener() as port:
        argv = [str(port) if a == "PORT" else str(free_port()) if a == "CLOSED" else a for a in args]
        proc = run_guest(runtime, env, wasm, *argv)
    assert proc.returncode == 0, (case, proc.stdout, proc.stderr)
    if faults:
        m = INJECTED.search(proc.stderr)
        assert m and int(m.group(1)) >= 1, (case, proc.stderr)  # the fault really happened
    return proc


@pytest.mark.parametrize("case", list(CASES))
def test_python_host_statuses_at_the_calls_wasi_names(case, native_env, connect_guest):
    proc = run_case("wasmtime", native_env, connect_guest, case)
    assert proc.stdout.splitlines() == expected(case), proc.stderr


@pytest.mark.parametrize("runtime", list(RUNTIMES))
def test_c_host_transcripts_equal_the_python_host(runtime, native_env, connect_guest):
    for case in CASES:
        reference = run_case("wasmtime", native_env, connect_guest, case).stdout.splitlines()
        proc = run_case(runtime, native_env, connect_guest, case)
        assert proc.stdout.splitlines() == reference, (case, proc.stderr)
        check_clean(proc)  # no sanitizer report, every OS socket closed
