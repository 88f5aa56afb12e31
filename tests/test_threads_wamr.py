"""Issue 18 end to end: a wasi-threads guest (fixtures/guests/threads/threads_guest.c,
built with zig for wasm32-wasi with atomics, bulk memory and a shared imported memory;
threads spawned through `wasi` `thread-spawn`, see w2w_threads.h) runs through
`wit2witx run --runtime wamr`, which picks WAMR's `threads` configuration
(lib-wasi-threads; the glue and host compiled with W2W_THREADS=1) because the guest
imports thread-spawn.

- 4 threads each echo 256 KiB over their own TCP connection at once, with the runner
  plain and built with ThreadSanitizer (no report allowed);
- 4 threads race 100k create / use / drop operations on tcp sockets shared through one
  array, plain and under TSan: every socket created is dropped exactly once (the
  guest's counts and the host's own: sockets opened = closed, no live object left).

Not under wasmtime-py: it links no wasi-threads (tests/test_threads_py.py shows it).
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

from conftest import FIXTURES, ROOT, corpus_path, zig_cc

sys.path.insert(0, str(Path(__file__).resolve().parent))
from support import wamr as wamr_support  # noqa: E402

pytestmark = [pytest.mark.sockets, pytest.mark.slow]

THREADS_DIR = FIXTURES / "guests" / "threads"
SOCKETS_DIR = FIXTURES / "guests" / "sockets"
RUN = [sys.executable, "-m", "wit2witx", "run"]
TIMEOUT = 900  # the first run builds WAMR's threads configuration and the runner
REPORT = re.compile(r"w2w-runner: fds-before=(\d+) fds-after=(\d+) sockets-opened=(\d+) "
                    r"sockets-closed=(\d+) live=(\d+)")
KIB256 = 256 * 1024
#: the zig flags of a wasi-threads guest (README: threaded guests)
THREAD_FLAGS = ("--target=wasm32-wasi", "-mcpu=generic+atomics+bulk_memory", "-O2", "-Wall", "-Wextra", "-Werror",
                "-Wl,--shared-memory", "-Wl,--import-memory", "-Wl,--max-memory=67108864")


@pytest.fixture(scope="module")
def threads_guest(tmp_path_factory) -> Path:
    corpus = corpus_path("wasi-p2", "sockets").parent.parent
    from wit2witx.hosts.regen import compile_sockets

    out = tmp_path_factory.mktemp("threads_guest")
    for name, text in compile_sockets(corpus, ["c"]).items():
        (out / name).write_text(text)
    wasm = out / "threads_guest.wasm"
    proc = zig_cc(*THREAD_FLAGS, f"-I{out}", f"-I{THREADS_DIR}", f"-I{SOCKETS_DIR}", "-o", str(wasm),
                  str(THREADS_DIR / "threads_guest.c"), str(THREADS_DIR / "wasi_thread_start.s"))
    assert proc.returncode == 0, proc.stderr
    return wasm


@pytest.fixture(scope="module")
def wamr_src() -> str:
    return str(wamr_support.require(wamr_support.wamr_source))


class EchoServer:
    """A TCP echo server on 127.0.0.1 serving any number of connections at once."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.received: dict[int, int] = {}
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        n = 0
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn, n), daemon=True).start()
            n += 1

    def _serve(self, conn: socket.socket, n: int) -> None:
        with conn:
            while data := conn.recv(65536):
                with self.lock:
                    self.received[n] = self.received.get(n, 0) + len(data)
                conn.sendall(data)

    def close(self) -> None:
        self.sock.close()


def run_threaded(wasm: Path, wamr: str, *args: str, tsan: bool = False) -> subprocess.CompletedProcess:
    env = {**os.environ, "WAMR_SRC": wamr, "W2W_RUNNER_REPORT": "1"}
    env.pop("WIT2WITX_RUNNER_WAMR_CONFIG", None)  # chosen from the guest's imports
    env.pop("WIT2WITX_RUNNER_SANITIZE", None)
    if tsan:
        env["WIT2WITX_RUNNER_TSAN"] = "1"
        env["TSAN_OPTIONS"] = "halt_on_error=1 exitcode=66"
    return subprocess.run([*RUN, str(wasm), "--runtime", "wamr", "--allow-network", "--", *args],
                          capture_output=True, text=True, timeout=TIMEOUT, env=env, cwd=ROOT)


def _report(stderr: str) -> tuple[int, ...]:
    found = REPORT.search(stderr)
    assert found, stderr[-4000:]
    return tuple(map(int, found.groups()))


@pytest.mark.parametrize("sanitizer", ["plain", "tsan"])
def test_four_threads_echo_256kib_each_on_wamr(threads_guest: Path, wamr_src: str, sanitizer: str) -> None:
    server = EchoServer()
    try:
        proc = run_threaded(threads_guest, wamr_src, "echo", str(server.port), "4", str(KIB256),
                            tsan=sanitizer == "tsan")
    finally:
        server.close()
    assert "ThreadSanitizer" not in proc.stderr, proc.stderr[-8000:]
    assert proc.returncode == 0, proc.stdout + proc.stderr[-4000:]
    assert proc.stdout.split() == ["ok", "4", str(KIB256)]
    assert sorted(server.received.values()) == [KIB256] * 4  # four connections, all bytes
    fds_before, fds_after, opened, closed, live = _report(proc.stderr)
    assert (opened, closed, live) == (4, 4, 0) and fds_after == fds_before


@pytest.mark.parametrize("sanitizer", ["plain", "tsan"])
def test_stress_100k_racing_handle_ops_on_wamr(threads_guest: Path, wamr_src: str, sanitizer: str) -> None:
    proc = run_threaded(threads_guest, wamr_src, "stress", "4", "100000", tsan=sanitizer == "tsan")
    assert "ThreadSanitizer" not in proc.stderr, proc.stderr[-8000:]
    assert proc.returncode == 0, proc.stdout + proc.stderr[-4000:]
    figures = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", proc.stdout)}
    assert figures["threads"] == 4 and figures["ops"] == 100_000
    assert figures["other"] == 0 and figures["create_failed"] == 0
    # every socket the guest created was dropped exactly once, by the guest's count ...
    assert figures["created"] == figures["drops_ok"] > 0
    assert figures["uses_ok"] > 0 and figures["uses_bad_handle"] > 0
    # ... and by the host's: each OS socket closed once, nothing left alive
    fds_before, fds_after, opened, closed, live = _report(proc.stderr)
    assert opened == closed == figures["created"]
    assert live == 0 and fds_after == fds_before
