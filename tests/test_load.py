"""Load (issue 19, item 3): 200 concurrent loopback clients sending 64 KiB each through
a guest TCP server (fixtures/guests/load/load_guest.c `serve`: one accept loop over
wasi:io/poll) on wasmtime-py (the Python host) and on the C host under wasm3, WAMR and
WAMR without hardware bound checks. Rounds of 200 clients repeat for LOAD_SECONDS
(W2W_LOAD_SECONDS, 12 s per runtime here; `make bench` runs 60 s in bench/bench_load.py):
every byte of every client comes back identical, and the runner's open descriptors and
RSS after the last round are those after the first (RSS within RSS_SLACK_KIB: allocator
pages, not per-connection growth, which would be ~MiBs per round).

The native runners are the unsanitized -O2 ones (ASan's quarantine grows RSS by design;
the sanitized runners meet the same server in tests/test_faults.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import FIXTURES

sys.path.insert(0, str(Path(__file__).resolve().parent))
from support.loadgen import GuestServer, proc_rss_kib, run_clients, settled_fds  # noqa: E402
from test_chost_run import RUNTIMES, build_guest, check_clean, run_cmd  # noqa: E402
from test_chost_run import native_env as native_env  # noqa: E402,F401  (fixture)

pytestmark = [pytest.mark.sockets, pytest.mark.slow]

LOAD_GUEST = FIXTURES / "guests" / "load" / "load_guest.c"
LOAD_SECONDS = float(os.environ.get("W2W_LOAD_SECONDS", "12"))
CLIENTS, SIZE = 200, 64 * 1024
ROUND_TIMEOUT = 600.0  # also the server start-up, which may build the runner first
RSS_SLACK_KIB = 2048


@pytest.fixture(scope="session")
def load_guest(tmp_path_factory) -> Path:
    return build_guest(tmp_path_factory.mktemp("load_guest"), "load_guest", LOAD_GUEST)


@pytest.fixture(scope="session")
def plain_env(native_env) -> dict[str, str]:
    """native_env with unsanitized runners."""
    return dict(native_env, WIT2WITX_RUNNER_SANITIZE="0")


def server_for(runtime: str, env: dict[str, str], wasm: Path) -> GuestServer:
    cmd, extra = run_cmd(runtime, wasm, "serve")
    return GuestServer(cmd, dict(env, **(extra or {})), ROUND_TIMEOUT)


@pytest.mark.parametrize("runtime", ["wasmtime", *RUNTIMES])
def test_load_200_clients_64k_every_byte_no_growth(runtime, plain_env, load_guest):
    server = server_for(runtime, plain_env, load_guest)
    rounds, samples = [], []
    try:
        start = time.monotonic()
        while len(rounds) < 2 or time.monotonic() - start < LOAD_SECONDS:
            got = run_clients(server.port, CLIENTS, SIZE, ROUND_TIMEOUT)
            assert got.echoed_ok == CLIENTS and got.bytes_echoed == CLIENTS * SIZE, got
            rounds.append(got)
            if len(rounds) == 1:
                samples.append((settled_fds(server.pid), proc_rss_kib(server.pid)))
        samples.append((settled_fds(server.pid), proc_rss_kib(server.pid)))
        status, out, err = server.stop()
    finally:
        server.kill()
    (fds_first, rss_first), (fds_last, rss_last) = samples
    assert fds_last == fds_first, samples
    assert rss_last - rss_first <= RSS_SLACK_KIB, samples
    assert status == 0, err
    total = len(rounds) * CLIENTS
    assert out.splitlines()[-1] == f"served {total} bytes {total * SIZE} failed 0 accept-errors 0", out
    if runtime != "wasmtime":
        facts = check_clean(subprocess.CompletedProcess([], 0, out, err))
        assert facts["opened"] >= total
    print(f"{runtime}: {len(rounds)} rounds of {CLIENTS}x64 KiB in {sum(r.seconds for r in rounds):.1f} s, "
          f"fds {fds_first}->{fds_last}, RSS {rss_first}->{rss_last} KiB")

