"""`make bench` (issue 19, item 3): load on a guest TCP server.

fixtures/guests/load/load_guest.c `serve` (one accept loop over wasi:io/poll, up to 12
connections at once, the rest in the listen backlog) under `wit2witx run` on wasmtime-py
(the Python host) and on the C host under wasm3 and WAMR (unsanitized -O2 runners).
Rounds of 200 concurrent loopback clients, each sending 64 KiB and reading it back, for
W2W_LOAD_SECONDS (60) per runtime, while one more connection measures 1 KiB round trips
(send 1 KiB, read it back) the whole time. Reported: connections/s, MiB/s (bytes echoed,
one direction), p50/p99 of the 1 KiB round trip under that load, and the runner's open
descriptors and RSS after the first round (the probe's connection still open: one more
descriptor in the C runners) and after the last (the probe done); they must not grow.

Needs ../shared/corpus, ziglang, gcc, and WAMR's source (WAMR_SRC or ../shared/vendor).
Nothing here asserts but that every byte came back: the figures go into the notes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from support.loadgen import GuestServer, percentile, proc_rss_kib, round_trips_1k, run_clients, settled_fds  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
VENDOR = ROOT.parent / "shared" / "vendor"
GUEST = ROOT / "fixtures" / "guests" / "load" / "load_guest.c"
SECONDS = float(os.environ.get("W2W_LOAD_SECONDS", "60"))
CLIENTS, SIZE = 200, 64 * 1024
RUNTIMES = ("wasmtime", "wasm3", "wamr")


def build_guest(out: Path) -> Path:
    from wit2witx.hosts.regen import compile_sockets  # noqa: PLC0415

    for name, text in compile_sockets(CORPUS, ["c"]).items():
        (out / name).write_text(text)
    wasm = out / "load_guest.wasm"
    subprocess.run([sys.executable, "-m", "ziglang", "cc", "--target=wasm32-wasi", "-mcpu=mvp", "-O2",
                    f"-I{out}", f"-I{GUEST.parent.parent / 'sockets'}", "-o", str(wasm), str(GUEST)], check=True)
    return wasm


def environment() -> dict[str, str]:
    env = dict(os.environ, WIT2WITX_RUNNER_SANITIZE="0")
    if "WAMR_SRC" not in env:
        found = sorted(VENDOR.glob("wasm-micro-runtime*.tar.gz"))
        if found:
            env["WAMR_SRC"] = str(found[0])
    return env


def probe(port: int, stop: threading.Event, times: list[float]) -> None:
    """1 KiB round trips on one connection until `stop`, 100 at a time."""
    while not stop.is_set():
        times += round_trips_1k(port, 100, 60.0)


def measure(runtime: str, wasm: Path, env: dict[str, str]) -> str:
    cmd = [sys.executable, "-m", "wit2witx", "run", str(wasm), "--host", "wasi-sockets", "--", "serve"]
    if runtime != "wasmtime":
        cmd[4:4] = ["--runtime", runtime]
    server = GuestServer(cmd, env, 600.0)
    stop, times = threading.Event(), []
    thread = threading.Thread(target=probe, args=(server.port, stop, times), daemon=True)
    try:
        thread.start()
        rounds, samples = [], []
        start = time.monotonic()
        while time.monotonic() - start < SECONDS or len(rounds) < 2:
            got = run_clients(server.port, CLIENTS, SIZE, 600.0)
            if got.echoed_ok != CLIENTS:
                return f"{runtime}: only {got.echoed_ok} of {CLIENTS} clients got their bytes back"
            rounds.append(got)
            if len(rounds) == 1:
                samples.append((settled_fds(server.pid), proc_rss_kib(server.pid)))
        elapsed = time.monotonic() - start
        stop.set()
        thread.join(timeout=60)
        samples.append((settled_fds(server.pid), proc_rss_kib(server.pid)))
        status, _, err = server.stop()
    finally:
        stop.set()
        server.kill()
    conns = len(rounds) * CLIENTS
    mib = conns * SIZE / (1 << 20)
    (f0, r0), (f1, r1) = samples
    return (f"{runtime:8s} {conns / elapsed:8.0f} conn/s {mib / elapsed:7.1f} MiB/s  1 KiB round trip "
            f"p50 {percentile(times, 0.5) * 1e3:6.2f} ms p99 {percentile(times, 0.99) * 1e3:6.2f} ms "
            f"({len(times)})  {conns} clients in {elapsed:.0f} s; fds {f0}->{f1}, RSS {r0}->{r1} KiB"
            f"{'' if status == 0 else f'  EXIT {status}: {err[-300:]}'}")


def main() -> int:
    if not (CORPUS / "wasi-p2").is_dir():
        print(f"corpus not found at {CORPUS}", file=sys.stderr)
        return 1
    env = environment()
    print(f"load: rounds of {CLIENTS} concurrent clients x 64 KiB echoed by a guest server, "
          f"{SECONDS:.0f} s per runtime, 1 KiB round-trip probe alongside")
    with tempfile.TemporaryDirectory() as tmp:
        wasm = build_guest(Path(tmp))
        for runtime in RUNTIMES:
            if runtime == "wamr" and "WAMR_SRC" not in env:
                print("wamr: no WAMR source (WAMR_SRC or ../shared/vendor)")
                continue
            print(measure(runtime, wasm, env), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
