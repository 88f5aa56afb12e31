"""Host glue (C) cost on wasm3: generated glue vs a hand-written host function.

Measures the median ns per `device.read` of 16 B into a caller buffer, as a guest in
wasm3 sees it, through
  - the generated glue: wasm3 binding → core trampoline (every check) → the example's
    fake-bus implementation (fixtures/example/impl/sensors_impl.c);
  - a minimal hand-written wasm3 host function doing the same work;
  - an empty host function with the same signature (the bare host-call cost);
and prints the ratio glue / hand-written (budget in DESIGN.md: within ~10%). With
WAMR_INCLUDE and WAMR_LIB (a libiwasm.a built from a wasm-micro-runtime checkout) set,
the same through the generated WAMR binding vs a hand-written WAMR native.

wasm3 is built from the pywasm3 0.5.0 sdist in .cache/ (tests/support/wasm3.py), all
C with gcc -O2. Nothing here asserts.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support.wasm3 import Wasm3Unavailable, gcc, wasm3_lib  # noqa: E402

GUESTS = ROOT / "fixtures" / "guests"
IMPL = ROOT / "fixtures" / "example" / "impl"
FLAGS = tuple(os.environ.get("W2W_BENCH_FLAGS", "-O2").split())


def build(tmp: Path) -> tuple[dict[str, Path], Path]:
    """Host programs (wasm3; WAMR too when WAMR_INCLUDE and WAMR_LIB are set) and the guest."""
    from wit2witx.compiler import compile as w2w_compile

    files = w2w_compile([ROOT / "fixtures" / "example"], emit=("host-c", "host-wasm3", "host-wamr"))
    for name, text in files.items():
        (tmp / name).write_text(text)
    common = [gcc(), "-std=c11", *FLAGS, "-I", str(tmp), "-I", str(IMPL)]
    core = [str(tmp / "example_sensors_bus_host.c"), str(IMPL / "sensors_impl.c")]
    inc, lib = wasm3_lib(FLAGS)
    exes = {"wasm3 0.5.0": tmp / "bench_host"}
    subprocess.run([*common, "-isystem", str(inc), str(GUESTS / "bench_host.c"), *core,
                    str(tmp / "example_sensors_bus_wasm3.c"), str(lib), "-lm", "-o",
                    str(exes["wasm3 0.5.0"])], check=True)
    wamr_inc, wamr_lib = os.environ.get("WAMR_INCLUDE"), os.environ.get("WAMR_LIB")
    if wamr_inc and wamr_lib:
        exes["WAMR (WAMR_LIB)"] = tmp / "bench_host_wamr"
        subprocess.run([*common, "-isystem", wamr_inc, str(GUESTS / "bench_host_wamr.c"), *core,
                        str(tmp / "example_sensors_bus_wamr.c"), wamr_lib, "-lpthread", "-lm",
                        "-ldl", "-o", str(exes["WAMR (WAMR_LIB)"])], check=True)
    wasm = tmp / "bench.wasm"
    wasm_tools = Path(sys.executable).parent / "wasm-tools"
    subprocess.run([str(wasm_tools if wasm_tools.exists() else "wasm-tools"), "parse",
                    str(GUESTS / "bench.wat"), "-o", str(wasm)], check=True)
    return exes, wasm


def report(runtime: str, runs: list[dict[str, float]], iterations: int) -> None:
    glue = statistics.median(r["glue_ns"] for r in runs)
    hand = statistics.median(r["hand_ns"] for r in runs)
    empty = statistics.median(r["empty_ns"] for r in runs)
    ratio = statistics.median(r["glue_ns"] / r["hand_ns"] for r in runs)
    best = min(r["glue_ns"] for r in runs) / min(r["hand_ns"] for r in runs)
    print(f"{runtime} (gcc {' '.join(FLAGS)}), device.read of 16 B into a caller buffer; "
          f"{len(runs)} interleaved runs of {iterations} calls")
    print(f"  generated glue        {glue:7.1f} ns/call (median)")
    print(f"  hand-written host fn  {hand:7.1f} ns/call")
    print(f"  empty host fn         {empty:7.1f} ns/call (bare host call)")
    print(f"  ratio glue/hand       {ratio:7.2f}x median of per-run ratios; {best:.2f}x best-of"
          f" (budget ~1.10x); glue overhead {glue - hand:+.1f} ns")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--repeat", type=int, default=3, help="host processes (median of medians)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            exes, wasm = build(Path(tmp))
        except (Wasm3Unavailable, subprocess.CalledProcessError) as exc:
            print(f"host-c bench skipped: {exc}", file=sys.stderr)
            return 1
        for runtime, exe in exes.items():
            runs: list[dict[str, float]] = []
            for _ in range(args.repeat):
                out = subprocess.run([str(exe), str(wasm), str(args.iterations), str(args.runs)],
                                     check=True, capture_output=True, text=True).stdout
                for line in out.splitlines():
                    if line.startswith("run "):
                        runs.append({k: float(v) for k, v in (kv.split("=") for kv in line.split()[1:])})
            report(runtime, runs, args.iterations)
        if len(exes) == 1:
            print("(WAMR: set WAMR_INCLUDE and WAMR_LIB=libiwasm.a to measure it too)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
